"""Subscription billing: monthly charges on the signup day-of-month, failures and retries.

A paying supplier is charged every month on the day of the month it signed up (clamped to
short months). A charge fails with a small probability that grows as engagement falls (cards
left to expire, disputed charges) and for some archetypes; the processor retries a few days
later. Failures feed the churn hazard - involuntary churn is a large share of real churn -
and a charge still unpaid at the end of the window leaves the subscription past due.

Billing is computed in two phases because of that feedback: ``plan_charges`` draws every
charge and its random numbers before churn is known (its failures raise the hazard), and
``charge_events`` turns them into events once the churn decision is known, adding the extra
failures of suppliers who are already on their way out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import archetypes as arch
from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.batch import EventBatch
from wedsync_success.synthetic.profiles import NEVER, SupplierFrame
from wedsync_success.synthetic.timeline import BILLING_HOURS, DAY, Window, seconds_of_day

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

BASE_FAILURE = 0.015
DISENGAGED_FAILURE = 0.08
"""Added failure chance at zero engagement (scaled by ``(1 - engagement) ** 2``)."""
LEAVING_FAILURE = 0.15
"""Added failure chance between the decision to leave and the cancellation."""
RETRY_MIN_DAYS, RETRY_MAX_DAYS = 3, 5
FAILED_CHARGE_HAZARD, FAILED_CHARGE_DAYS = 0.002, 30
UNPAID_HAZARD, UNPAID_DAYS = 0.012, 45


@dataclass(frozen=True)
class Charges:
    """Every monthly charge of a group of suppliers, shape ``(suppliers, cycles)``."""

    sec: IntArray
    retry_sec: IntArray
    amount: IntArray
    valid: BoolArray
    """A paid plan at that moment, inside the window and after signup."""
    failure_p: FloatArray
    retry_success_p: FloatArray
    u_first: FloatArray
    u_retry: FloatArray

    def failed_first(self, extra_p: FloatArray | float = 0.0) -> BoolArray:
        result: BoolArray = self.valid & (self.u_first < self.failure_p + extra_p)
        return result

    def unpaid(self, failed_first: BoolArray) -> BoolArray:
        result: BoolArray = failed_first & (self.u_retry >= self.retry_success_p)
        return result


def charge_times(frame: SupplierFrame, window: Window, cycles: int) -> IntArray:
    """Monthly charge times from the first cycle that can fall in the window onwards."""
    signup = frame.signup_sec.astype("datetime64[s]")
    signup_day = signup.astype("datetime64[D]")
    signup_month = signup.astype("datetime64[M]")
    day_of_month = (signup_day - signup_month.astype("datetime64[D]")).astype(np.int64)
    start_month = np.datetime64(window.start_sec, "s").astype("datetime64[M]")
    months_before = (start_month - signup_month).astype(np.int64)
    first_k = np.maximum(1, months_before)
    months = signup_month[:, None] + (first_k[:, None] + np.arange(cycles)[None, :])
    month_start = months.astype("datetime64[D]")
    month_days = ((months + 1).astype("datetime64[D]") - month_start).astype(np.int64)
    day = month_start + np.minimum(day_of_month[:, None], month_days - 1)
    result: IntArray = day.astype("datetime64[s]").astype(np.int64)
    return result


def plan_charges(
    rng: np.random.Generator,
    frame: SupplierFrame,
    window: Window,
    engagement: FloatArray,
    months: int,
) -> Charges:
    """Draw every charge and its outcome randomness before churn is decided."""
    n = len(frame)
    cycles = months + 2
    sec = charge_times(frame, window, cycles)
    sec = sec + seconds_of_day(rng, n * cycles, BILLING_HOURS).reshape(n, cycles)
    tier = np.where(sec >= frame.change_sec[:, None], frame.tier1[:, None], frame.tier0[:, None])
    prices = np.asarray(cat.PRICE_MINOR, dtype=np.int64)
    amount = prices[frame.currency[:, None], tier]
    valid = (
        (amount > 0)
        & (sec >= max(window.start_sec, 0))
        & (sec >= frame.signup_sec[:, None])
        & (sec < window.end_sec)
    )
    day = np.clip((sec - window.day0_sec) // DAY, 0, window.n_days - 1)
    e = np.take_along_axis(engagement, day, axis=1)
    extra = arch.column([p.payment_fail_extra for p in arch.ARCHETYPES], frame.archetype)
    failure_p = BASE_FAILURE + DISENGAGED_FAILURE * (1.0 - e) ** 2 + extra[:, None]
    retry_gap = rng.integers(RETRY_MIN_DAYS * DAY, RETRY_MAX_DAYS * DAY, size=(n, cycles))
    return Charges(
        sec=sec,
        retry_sec=sec + retry_gap,
        amount=amount,
        valid=valid,
        failure_p=failure_p,
        retry_success_p=0.55 + 0.35 * e,
        u_first=rng.random((n, cycles)),
        u_retry=rng.random((n, cycles)),
    )


def _add_window(
    delta: FloatArray, rows: IntArray, first_day: IntArray, days: int, v: float
) -> None:
    n_days = delta.shape[1] - 1
    start = np.clip(first_day, 0, n_days)
    stop = np.clip(first_day + days, 0, n_days)
    width = delta.shape[1]
    np.add.at(delta.reshape(-1), rows * width + start, v)
    np.add.at(delta.reshape(-1), rows * width + stop, -v)


def failure_hazard(charges: Charges, window: Window) -> FloatArray:
    """Extra daily churn hazard in the weeks after failed and unpaid charges."""
    n = charges.sec.shape[0]
    delta = np.zeros((n, window.n_days + 1))
    failed = charges.failed_first()
    rows, cols = np.nonzero(failed)
    days = (charges.sec[rows, cols] - window.day0_sec) // DAY
    _add_window(delta, rows, days, FAILED_CHARGE_DAYS, FAILED_CHARGE_HAZARD)
    unpaid = charges.unpaid(failed)
    rows, cols = np.nonzero(unpaid)
    days = (charges.retry_sec[rows, cols] - window.day0_sec) // DAY
    _add_window(delta, rows, days, UNPAID_DAYS, UNPAID_HAZARD)
    result: FloatArray = np.cumsum(delta, axis=1)[:, :-1]
    return result


@dataclass(frozen=True)
class BillingOutcome:
    events: EventBatch
    past_due: BoolArray
    """The latest charge before the window's end has not been paid (yet)."""


def charge_events(
    charges: Charges, window: Window, decision_sec: IntArray, leave_sec: IntArray
) -> BillingOutcome:
    """Charge events given the churn timeline, and which suppliers end up past due."""
    leaving = (charges.sec >= decision_sec[:, None]) & (charges.sec < leave_sec[:, None])
    failed = charges.failed_first(np.where(leaving, LEAVING_FAILURE, 0.0))
    unpaid = charges.unpaid(failed)

    rows, cols = np.nonzero(charges.valid)
    first_failed = failed[rows, cols]
    first = EventBatch.make(
        rows,
        cat.EventCode.PAYMENT_RECEIVED,
        charges.sec[rows, cols],
        amount=charges.amount[rows, cols],
        detail=cat.SUBSCRIPTION_PAYMENT,
    )
    first = EventBatch(
        supplier=first.supplier,
        user=first.user,
        code=np.where(first_failed, cat.EventCode.PAYMENT_FAILED, first.code),
        sec=first.sec,
        amount=first.amount,
        detail=np.where(first_failed, 1, first.detail),
    )
    rows, cols = np.nonzero(failed)
    retry_unpaid = unpaid[rows, cols]
    retry = EventBatch.make(
        rows,
        cat.EventCode.PAYMENT_RECEIVED,
        charges.retry_sec[rows, cols],
        amount=charges.amount[rows, cols],
        detail=cat.SUBSCRIPTION_PAYMENT,
    )
    retry = EventBatch(
        supplier=retry.supplier,
        user=retry.user,
        code=np.where(retry_unpaid, cat.EventCode.PAYMENT_FAILED, retry.code),
        sec=retry.sec,
        amount=retry.amount,
        detail=np.where(retry_unpaid, 2, retry.detail),
    )

    # Past due: the last charge before the end failed and was not (yet) recovered.
    last_sec = np.where(charges.valid, charges.sec, -NEVER).max(axis=1, initial=-NEVER)
    is_last = charges.valid & (charges.sec == last_sec[:, None])
    outstanding = failed & (unpaid | (charges.retry_sec >= window.end_sec))
    past_due: BoolArray = (is_last & outstanding).any(axis=1)
    return BillingOutcome(events=EventBatch.concat([first, retry]), past_due=past_due)
