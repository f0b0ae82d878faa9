"""A simulated history of the at-risk rescue playbook, with a known, decaying effect on churn.

A supplier is *at risk* on a day when its latent churn hazard (``churn.daily_hazard``, before
any outreach) is at least ``at_risk_hazard``. The day it crosses into at risk - a paying
customer at least ``min_tenure_days`` old, at most once per ``reenrol_after_days`` - it is
enrolled, at the hour the nightly risk recompute runs. Each supplier's arm is drawn once,
with the playbook's holdout share, and kept for all its runs, so a control supplier never
carries a treated run's effect.

Treated suppliers' hazard of deciding to leave is cut by a fraction that depends on their
(hidden) archetype - declining suppliers respond most, dormant ones barely - and halves every
``half_life_days`` after each enrolment. Enrolment is decided in the world without outreach,
so the set of runs does not depend on the arm, and both potential outcomes of every
enrolled supplier are resolved on the same random numbers: the true retention difference is
computed from the simulation itself, not assumed.

The run's goal (its hazard, outreach included, back below the at-risk level within the
seven days of its steps) ends it early; a supplier that leaves first exits it. Treated runs
get the playbook's check-in email at enrolment and, two days later, the in-app coach when
the email went unopened; opens and clicks are likelier the more the supplier responds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.churn import ChurnTimeline, DecisionDraws, resolve
from wedsync_success.synthetic.profiles import NEVER, SupplierFrame
from wedsync_success.synthetic.timeline import DAY, HOUR, Window

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HAZARD_REDUCTION: tuple[float, ...] = (0.35, 0.45, 0.50, 0.70, 0.05)
"""Share of the churn hazard outreach removes at enrolment, per archetype (thriving, steady,
slow starter, declining, dormant)."""
RUN_DAYS = 7
"""The rescue playbook's steps span a week (email, in-app after 2 days, the rest after 5)."""
INAPP_AFTER = 2 * DAY
RECOMPUTE_HOUR = 6
"""Risk is recomputed nightly; enrolments and goals are seen from 06:00 UTC."""
RUN_STATUSES: tuple[str, ...] = ("active", "goal_reached", "completed", "exited")
ACTIVE, GOAL_REACHED, COMPLETED, EXITED = range(4)
EMAIL, IN_APP = 0, 1
CHANNELS: tuple[str, ...] = ("email", "in_app")


@dataclass(frozen=True)
class OutreachConfig:
    """The simulated playbook (the shipped ``at_risk_rescue``'s holdout and re-enrolment)."""

    playbook_key: str = "at_risk_rescue"
    goal_group: str = "retention"
    at_risk_hazard: float = 0.004
    holdout: float = 0.2
    reenrol_after_days: int = 45
    half_life_days: float = 30.0
    min_tenure_days: int = 14


@dataclass(frozen=True)
class GroupOutreach:
    """One group's runs (rows local to the group) and both potential churn timelines."""

    run_row: IntArray
    enrolled_sec: IntArray
    control: BoolArray
    """Per run."""
    status: IntArray
    ended_sec: IntArray
    mrr_minor: IntArray
    message_run: IntArray
    """Index into this group's runs."""
    message_step: IntArray
    message_channel: IntArray
    sent_sec: IntArray
    opened_sec: IntArray
    clicked_sec: IntArray
    leave_if_treated: IntArray
    leave_if_untreated: IntArray
    """Per run: when its supplier leaves with and without outreach (``NEVER``: it stays)."""


def _enrolments(
    frame: SupplierFrame,
    window: Window,
    hazard: FloatArray,
    leave_sec: IntArray,
    config: OutreachConfig,
) -> BoolArray:
    """``(suppliers, days)``: enrolled that day (crossing into at risk, re-enrolment rule)."""
    seen_at = window.day_sec + RECOMPUTE_HOUR * HOUR
    latest = seen_at + HOUR  # the enrolment lands within the recompute's hour
    tier = np.where(
        seen_at[None, :] >= frame.change_sec[:, None], frame.tier1[:, None], frame.tier0[:, None]
    )
    eligible = (
        (hazard >= config.at_risk_hazard)
        & (seen_at[None, :] >= frame.signup_sec[:, None] + config.min_tenure_days * DAY)
        & (latest[None, :] < leave_sec[:, None])
        & (latest[None, :] < window.end_sec)
        & (tier != cat.FREE)
    )
    before = np.concatenate([np.ones_like(eligible[:, :1]), eligible[:, :-1]], axis=1)
    crossing = eligible & ~before  # already at risk when the window opens: not a crossing
    enrolled: BoolArray = np.zeros(crossing.shape, dtype=np.bool_)
    last = np.full(len(frame), -(10**9), dtype=np.int64)
    for day in range(window.n_days):
        now = crossing[:, day] & (day - last >= config.reenrol_after_days)
        enrolled[:, day] = now
        last[now] = day
    return enrolled


def _effect(frame: SupplierFrame, enrolled: BoolArray, config: OutreachConfig) -> FloatArray:
    """Share of the hazard removed on each day by the latest earlier enrolment, if treated."""
    n_days = enrolled.shape[1]
    days = np.arange(n_days, dtype=np.int64)
    latest = np.maximum.accumulate(np.where(enrolled, days[None, :], -1), axis=1)
    before = np.concatenate([np.full((len(frame), 1), -1), latest[:, :-1]], axis=1)
    size = np.asarray(HAZARD_REDUCTION)[frame.archetype][:, None]
    decay = 0.5 ** ((days[None, :] - before) / config.half_life_days)
    result: FloatArray = np.where(before >= 0, size * decay, 0.0)
    return result


def _within(times: IntArray, lower: IntArray, upper: IntArray) -> tuple[IntArray, BoolArray]:
    """``times`` where ``lower <= times < upper``, else ``NEVER``; and that mask."""
    ok = (times >= lower) & (times < upper)
    return np.where(ok, times, NEVER), ok


def simulate_outreach(
    rng: np.random.Generator,
    frame: SupplierFrame,
    window: Window,
    hazard: FloatArray,
    draws: DecisionDraws,
    config: OutreachConfig,
) -> tuple[ChurnTimeline, GroupOutreach]:
    """The churn timeline with outreach applied to treated suppliers, and the runs."""
    n = len(frame)
    untreated = resolve(frame, window, hazard, draws)
    control = rng.random(n) < config.holdout
    enrolled = _enrolments(frame, window, hazard, untreated.leave_sec, config)
    hazard_if_treated = hazard * (1.0 - _effect(frame, enrolled, config))
    if_treated = resolve(frame, window, hazard_if_treated, draws)
    effective = np.where(control[:, None], hazard, hazard_if_treated)
    actual = ChurnTimeline(
        decision_sec=np.where(control, untreated.decision_sec, if_treated.decision_sec),
        leave_sec=np.where(control, untreated.leave_sec, if_treated.leave_sec),
        churned=np.where(control, untreated.churned, if_treated.churned),
    )

    row, day = np.nonzero(enrolled)
    enrolled_sec = window.day_sec[day] + RECOMPUTE_HOUR * HOUR + rng.integers(0, HOUR, row.size)
    end = np.minimum(actual.leave_sec[row], window.end_sec)
    # Goal: the first later day (within the run) with the hazard back below the level.
    offsets = np.arange(1, RUN_DAYS + 1)
    goal_day = np.minimum(day[:, None] + offsets[None, :], window.n_days - 1)
    recovered = effective[row[:, None], goal_day] < config.at_risk_hazard
    recovered &= day[:, None] + offsets[None, :] < window.n_days
    first = offsets[np.argmax(recovered, axis=1)]
    goal_sec = np.where(recovered.any(axis=1), enrolled_sec + first * DAY, NEVER)
    completed_sec = enrolled_sec + RUN_DAYS * DAY
    leave = actual.leave_sec[row]
    ended = np.minimum(np.minimum(goal_sec, completed_sec), leave)
    status = np.where(ended == goal_sec, GOAL_REACHED, np.where(ended == leave, EXITED, COMPLETED))
    status = np.where(ended >= window.end_sec, ACTIVE, status)
    ended = np.where(status == ACTIVE, NEVER, ended)

    tier_at = np.where(enrolled_sec >= frame.change_sec[row], frame.tier1[row], frame.tier0[row])
    mrr = np.asarray(cat.PRICE_MINOR)[frame.currency[row], tier_at]

    messages = _messages(rng, frame, row, enrolled_sec, ~control[row], ended, end)
    return actual, GroupOutreach(
        run_row=row.astype(np.int64),
        enrolled_sec=enrolled_sec.astype(np.int64),
        control=control[row],
        status=status.astype(np.int64),
        ended_sec=ended.astype(np.int64),
        mrr_minor=mrr.astype(np.int64),
        leave_if_treated=if_treated.leave_sec[row],
        leave_if_untreated=untreated.leave_sec[row],
        **messages,
    )


def _messages(
    rng: np.random.Generator,
    frame: SupplierFrame,
    row: IntArray,
    enrolled_sec: IntArray,
    treated: BoolArray,
    ended: IntArray,
    end: IntArray,
) -> dict[str, IntArray]:
    """Email at enrolment, in-app coach two days later if unopened; none for control runs."""
    k = row.size
    response = np.asarray(HAZARD_REDUCTION)[frame.archetype[row]]
    u = rng.random((4, k))
    wait = rng.exponential(1.0, (4, k))
    # Step 0: the check-in email, minutes after enrolment.
    email_sent, email_ok = _within(enrolled_sec + rng.integers(30, 600, k), enrolled_sec, end)
    email_ok &= treated
    opened = email_sent + (6 * HOUR * wait[0]).astype(np.int64)
    email_opened, open_ok = _within(opened, email_sent, end)
    open_ok &= email_ok & (u[0] < 0.2 + 0.6 * response)
    clicked = email_opened + (10 * 60 * wait[1]).astype(np.int64)
    email_clicked, click_ok = _within(clicked, email_opened, end)
    click_ok &= open_ok & (u[1] < 0.1 + 0.5 * response)
    # Step 2: the in-app coach, skipped when the email was opened or the run has ended.
    coach_at = enrolled_sec + INAPP_AFTER
    coach_sent, coach_ok = _within(coach_at, enrolled_sec, np.minimum(end, ended))
    coach_ok &= email_ok & ~(open_ok & (email_opened <= coach_at))
    seen = coach_sent + (12 * HOUR * wait[2]).astype(np.int64)
    coach_seen, seen_ok = _within(seen, coach_sent, end)
    seen_ok &= coach_ok & (u[2] < 0.3 + 0.5 * response)
    tapped = coach_seen + (2 * 60 * wait[3]).astype(np.int64)
    coach_clicked, tap_ok = _within(tapped, coach_seen, end)
    tap_ok &= seen_ok & (u[3] < 0.1 + 0.4 * response)

    runs = np.arange(k, dtype=np.int64)
    e, c = np.flatnonzero(email_ok), np.flatnonzero(coach_ok)
    return {
        "message_run": np.concatenate([runs[e], runs[c]]),
        "message_step": np.concatenate([np.zeros(e.size, np.int64), np.full(c.size, 2)]),
        "message_channel": np.concatenate(
            [np.full(e.size, EMAIL, np.int64), np.full(c.size, IN_APP, np.int64)]
        ),
        "sent_sec": np.concatenate([email_sent[e], coach_sent[c]]),
        "opened_sec": np.concatenate(
            [np.where(open_ok, email_opened, NEVER)[e], np.where(seen_ok, coach_seen, NEVER)[c]]
        ),
        "clicked_sec": np.concatenate(
            [np.where(click_ok, email_clicked, NEVER)[e], np.where(tap_ok, coach_clicked, NEVER)[c]]
        ),
    }
