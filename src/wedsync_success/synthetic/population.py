"""``generate_population``: the seeded world of suppliers used by the demo, tests and benchmarks.

The simulation runs in a fixed order for each group of suppliers, because each step needs
the one before it:

1. latent engagement per day (``engagement``), from the archetype drift plus noise;
2. the monthly charges and their failure randomness (``billing``);
3. the churn hazard - engagement, plan and payment failures - the at-risk rescue playbook's
   runs and their effect on treated suppliers (``outreach``), and the decision to leave
   (``churn``);
4. the fade of engagement between that decision and the cancellation;
5. the events: daily activity (``activity``), one-off lifecycle events (``lifecycle``) and
   charges, all clipped to the supplier's time as a customer inside the window.

Suppliers are simulated in groups of ``GROUP_SIZE`` with whole-array numpy operations, so
the run time grows linearly with the number of suppliers and memory stays bounded. Each group
draws from its own child of the seed, so the output depends only on the arguments; outreach
draws from children of its own, so it leaves every other draw as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic import names
from wedsync_success.synthetic.activity import daily_events, name_referees
from wedsync_success.synthetic.archetypes import ARCHETYPE_NAMES
from wedsync_success.synthetic.batch import EventBatch
from wedsync_success.synthetic.billing import charge_events, failure_hazard, plan_charges
from wedsync_success.synthetic.churn import daily_hazard, draw_decisions, reasons
from wedsync_success.synthetic.engagement import fade_before_churn, latent_engagement, tenure_days
from wedsync_success.synthetic.lifecycle import lifecycle_events
from wedsync_success.synthetic.model import (
    EventColumns,
    GroundTruth,
    OutreachColumns,
    OutreachTruth,
    Population,
    SyntheticSupplier,
    SyntheticUser,
)
from wedsync_success.synthetic.outreach import (
    CHANNELS,
    RUN_STATUSES,
    GroupOutreach,
    OutreachConfig,
    simulate_outreach,
)
from wedsync_success.synthetic.profiles import NEVER, TRIAL_DAYS, SupplierFrame, draw_frame
from wedsync_success.synthetic.timeline import DAY, Window, build_window

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

GROUP_SIZE = 500
ROLES_BY_POSITION: tuple[str, ...] = ("owner", "admin", "assistant", "assistant")


@dataclass(frozen=True)
class _Outcome:
    """What the simulation decided about each supplier, in supplier order."""

    churned: BoolArray
    leave_sec: IntArray
    past_due: BoolArray
    final_tier: IntArray
    reason: IntArray


def _simulate_group(
    rng: np.random.Generator,
    outreach_rng: np.random.Generator,
    config: OutreachConfig,
    frame: SupplierFrame,
    window: Window,
    months: int,
    ticket_base: int,
) -> tuple[EventBatch, _Outcome, int, GroupOutreach]:
    tenure = tenure_days(frame, window)
    engagement = latent_engagement(rng, frame, window, tenure)
    charges = plan_charges(rng, frame, window, engagement, months)
    trouble = failure_hazard(charges, window)
    hazard = daily_hazard(frame, window, engagement, trouble)
    draws = draw_decisions(rng, len(frame))
    timeline, runs = simulate_outreach(outreach_rng, frame, window, hazard, draws, config)
    engagement = fade_before_churn(engagement, window, timeline.decision_sec, timeline.leave_sec)
    billing = charge_events(charges, window, timeline.decision_sec, timeline.leave_sec)

    changed = frame.change_sec < np.minimum(timeline.leave_sec, window.end_sec)
    final_tier = np.where(changed, frame.tier1, frame.tier0)
    reason = reasons(rng, frame, final_tier)
    lo = np.maximum(frame.signup_sec, window.start_sec)
    hi = np.minimum(timeline.leave_sec, window.end_sec)
    daily, tickets = daily_events(rng, frame, window, engagement, trouble, lo, hi, ticket_base)
    lifecycle = lifecycle_events(rng, frame, timeline, reason, lo, hi)
    events = EventBatch.concat([lifecycle, daily, billing.events.within(lo, hi)])
    outcome = _Outcome(
        churned=timeline.churned,
        leave_sec=timeline.leave_sec,
        past_due=billing.past_due & ~timeline.churned,
        final_tier=final_tier,
        reason=reason,
    )
    return events, outcome, tickets, runs


def _utc(sec: int) -> datetime:
    return datetime.fromtimestamp(sec, UTC)


def _status(signup_sec: int, churned: bool, past_due: bool, window: Window) -> str:
    if churned:
        return "cancelled"
    if signup_sec > window.end_sec - TRIAL_DAYS * DAY:
        return "trialing"
    return "past_due" if past_due else "active"


def _channels(rng: np.random.Generator, frame: SupplierFrame) -> list[str]:
    """Each supplier's acquisition channel, drawn with its archetype's weights."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for k, name in enumerate(ARCHETYPE_NAMES):
        rows = np.flatnonzero(frame.archetype == k)
        weights = cat.CHANNEL_WEIGHTS[name]
        codes[rows] = rng.choice(len(weights), size=rows.size, p=weights)
    return [cat.ACQUISITION_CHANNELS[c] for c in codes.tolist()]


def _build_suppliers(
    rng: np.random.Generator,
    frame: SupplierFrame,
    outcome: _Outcome,
    window: Window,
    channels: list[str],
) -> tuple[list[SyntheticSupplier], list[GroundTruth]]:
    """The API-facing supplier records (names, users, ids) and their ground truth."""
    n = len(frame)
    randoms = rng.integers(0, 2**31, size=(n, names.RANDOMS_PER_SUPPLIER)).tolist()
    total_users = int(frame.n_users.sum())
    id_bytes = rng.bytes(16 * (n + total_users))
    taken_names: set[str] = set()
    taken_domains: set[str] = set()
    prices = cat.PRICE_MINOR
    suppliers: list[SyntheticSupplier] = []
    truth: list[GroundTruth] = []
    next_id = 0

    def new_id() -> uuid.UUID:
        nonlocal next_id
        chunk = id_bytes[16 * next_id : 16 * (next_id + 1)]
        next_id += 1
        return uuid.UUID(bytes=chunk, version=4)

    vendors, countries = frame.vendor.tolist(), frame.country.tolist()
    currencies, signups = frame.currency.tolist(), frame.signup_sec.tolist()
    team_sizes, archetypes, e0s = (
        frame.n_users.tolist(),
        frame.archetype.tolist(),
        frame.e0.tolist(),
    )
    tiers, churned_flags = outcome.final_tier.tolist(), outcome.churned.tolist()
    leaves, past_dues, reason_codes = (
        outcome.leave_sec.tolist(),
        outcome.past_due.tolist(),
        outcome.reason.tolist(),
    )
    for i in range(n):
        vendor_type = cat.VENDOR_TYPES[vendors[i]]
        country_code = cat.COUNTRIES[countries[i]]
        currency, signup, tier = currencies[i], signups[i], tiers[i]
        churned = churned_flags[i]
        r = randoms[i]
        business = names.unique_business_name(
            names.business_name(vendor_type, country_code, r), country_code, r, taken_names
        )
        domain = names.domain_for(business, country_code, taken_domains)
        supplier_id = new_id()
        users = tuple(
            SyntheticUser(id=new_id(), email=p.email, name=p.name, role=ROLES_BY_POSITION[k])
            for k, p in enumerate(names.people(country_code, domain, team_sizes[i], r))
        )
        signed_up_at = _utc(signup)
        ended_at = _utc(leaves[i]) if churned else None
        suppliers.append(
            SyntheticSupplier(
                id=supplier_id,
                business_name=business,
                vendor_type=vendor_type,
                country=country_code,
                signed_up_at=signed_up_at,
                plan_tier=cat.PLAN_TIERS[tier],
                mrr_minor=prices[currency][tier],
                currency=cat.CURRENCIES[currency],
                subscription_status=_status(signup, churned, past_dues[i], window),
                subscription_started_at=signed_up_at,
                subscription_ended_at=ended_at,
                cancellation_reason=cat.CANCELLATION_REASONS[reason_codes[i]] if churned else None,
                users=users,
                acquisition_channel=channels[i],
            )
        )
        truth.append(
            GroundTruth(
                supplier_id=supplier_id,
                archetype=ARCHETYPE_NAMES[archetypes[i]],
                latent_engagement=round(e0s[i], 4),
                churned=churned,
                churned_at=ended_at,
            )
        )
    return suppliers, truth


def _columns(events: EventBatch, seed: int) -> EventColumns:
    """Sort by time (stable, so simultaneous events keep generation order) and name them."""
    order = np.argsort(events.sec, kind="stable")
    type_names = np.asarray(cat.EVENT_TYPE_NAMES, dtype=object)
    return EventColumns(
        event_id=[f"syn-{seed}-{n}" for n in range(order.size)],
        supplier_index=events.supplier[order].astype(np.int32),
        user_index=events.user[order].astype(np.int32),
        event_type=type_names[events.code[order]],
        occurred_at=events.sec[order].astype("datetime64[s]"),
        amount_minor=events.amount[order].astype(np.int64),
        detail_code=events.detail[order].astype(np.int64),
    )


def _concat_outcomes(parts: list[_Outcome]) -> _Outcome:
    def cat_field(name: str) -> npt.NDArray[np.generic]:
        arrays: list[npt.NDArray[np.generic]] = [getattr(p, name) for p in parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)

    return _Outcome(
        churned=cat_field("churned").astype(np.bool_),
        leave_sec=cat_field("leave_sec").astype(np.int64),
        past_due=cat_field("past_due").astype(np.bool_),
        final_tier=cat_field("final_tier").astype(np.int64),
        reason=cat_field("reason").astype(np.int64),
    )


def _outreach_columns(
    rng: np.random.Generator, parts: list[tuple[int, GroupOutreach]], config: OutreachConfig
) -> tuple[OutreachColumns, OutreachTruth]:
    """The groups' runs as one set of columns (supplier indexes made global), with ids."""

    def cat_field(name: str, offset: bool = False) -> npt.NDArray[np.int64]:
        arrays = [getattr(g, name) + (lo if offset else 0) for lo, g in parts]
        return np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, np.int64)

    sizes = np.cumsum([0] + [g.run_row.size for _, g in parts])
    message_run = (
        np.concatenate([g.message_run + sizes[k] for k, (_, g) in enumerate(parts)])
        if parts
        else np.zeros(0, np.int64)
    )
    n_runs, n_messages = int(sizes[-1]), int(message_run.size)
    id_bytes = rng.bytes(16 * (n_runs + n_messages))
    ids = [
        uuid.UUID(bytes=id_bytes[16 * k : 16 * (k + 1)], version=4)
        for k in range(n_runs + n_messages)
    ]
    enrolled = cat_field("enrolled_sec")
    columns = OutreachColumns(
        playbook_key=config.playbook_key,
        goal_group=config.goal_group,
        run_id=ids[:n_runs],
        supplier_index=cat_field("run_row", offset=True),
        control=cat_field("control").astype(np.bool_),
        status=np.asarray(RUN_STATUSES, dtype=object)[cat_field("status")],
        enrolled_sec=enrolled,
        ended_sec=cat_field("ended_sec"),
        mrr_minor=cat_field("mrr_minor"),
        message_id=ids[n_runs:],
        message_run=message_run.astype(np.int64),
        message_step=cat_field("message_step"),
        message_channel=np.asarray(CHANNELS, dtype=object)[cat_field("message_channel")],
        sent_sec=cat_field("sent_sec"),
        opened_sec=cat_field("opened_sec"),
        clicked_sec=cat_field("clicked_sec"),
    )
    truth = OutreachTruth(
        enrolled_sec=enrolled,
        leave_if_treated=cat_field("leave_if_treated"),
        leave_if_untreated=cat_field("leave_if_untreated"),
        never=int(NEVER),
    )
    return columns, truth


def generate_population(
    *,
    suppliers: int = 2000,
    months: int = 18,
    seed: int = 7,
    end: datetime,
    outreach: OutreachConfig = OutreachConfig(),
) -> Population:
    """A deterministic population of ``suppliers`` over the ``months`` before ``end``.

    ``end`` (tz-aware) is the "now" of the simulated world; events cover ``[end - months,
    end)``. The same arguments always give the same population, ids included. ``outreach``
    sets the simulated at-risk rescue playbook (a holdout of 1 leaves everyone untreated).
    """
    if suppliers < 0:
        raise ValueError("suppliers must not be negative")
    window = build_window(end, months)
    groups = [(lo, min(lo + GROUP_SIZE, suppliers)) for lo in range(0, suppliers, GROUP_SIZE)]
    # A fifth child for the channels: spawn(5) starts with the same four children as
    # spawn(4), so adding it left every other draw as it was.
    profile_seq, names_seq, group_seq, outreach_seq, channel_seq = np.random.SeedSequence(
        seed
    ).spawn(5)
    outreach_ids_seq, outreach_group_seq = outreach_seq.spawn(2)
    frame = draw_frame(np.random.default_rng(profile_seq), suppliers, window)

    batches: list[EventBatch] = []
    outcomes: list[_Outcome] = []
    runs: list[tuple[int, GroupOutreach]] = []
    tickets = 0
    seqs = zip(
        groups, group_seq.spawn(len(groups)), outreach_group_seq.spawn(len(groups)), strict=True
    )
    for (lo, hi), seq, outreach_group in seqs:
        rng = np.random.default_rng(seq)
        events, outcome, opened, group_runs = _simulate_group(
            rng,
            np.random.default_rng(outreach_group),
            outreach,
            frame.rows(lo, hi),
            window,
            months,
            tickets,
        )
        runs.append((lo, group_runs))
        tickets += opened
        batches.append(
            EventBatch(
                supplier=events.supplier + lo,
                user=events.user,
                code=events.code,
                sec=events.sec,
                amount=events.amount,
                detail=events.detail,
            )
        )
        outcomes.append(outcome)

    outcome = _concat_outcomes(outcomes)
    supplier_list, truth = _build_suppliers(
        np.random.default_rng(names_seq),
        frame,
        outcome,
        window,
        _channels(np.random.default_rng(channel_seq), frame),
    )
    all_events = name_referees(EventBatch.concat(batches), frame.signup_sec)
    batches.clear()  # the per-group copies are no longer needed: halve peak memory
    outreach_columns, outreach_truth = _outreach_columns(
        np.random.default_rng(outreach_ids_seq), runs, outreach
    )
    return Population(
        suppliers=supplier_list,
        events=_columns(all_events, seed),
        truth=truth,
        start=window.start,
        end=window.end,
        outreach=outreach_columns,
        outreach_truth=outreach_truth,
    )
