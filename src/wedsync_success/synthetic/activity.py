"""Day-to-day product activity: Poisson counts per supplier-day, drawn from latent engagement.

Each (supplier, day) on which the supplier is a customer is a "cell". For every cell and event
type the expected count is a base rate times a power of that day's engagement times the
relevant seasonal and weekday curves; counts are Poisson around it, multiplied by a shared
gamma "busy day" factor so that a supplier's actions cluster on the same days. Actions a
person takes in the app (messages, invoices, new clients, features) only happen on days with
a login; what couples and automations do (enquiry forms, journey steps, client payments)
does not need the supplier to be there. Types that are part of onboarding only start after
the supplier's first one (see ``lifecycle``), so a supplier that never added a client never
sends invoices.

Everything works on flat arrays of cells, so the cost grows with supplier-days, not with
Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wedsync_success.synthetic import archetypes as arch
from wedsync_success.synthetic import catalog as cat
from wedsync_success.synthetic.batch import EventBatch
from wedsync_success.synthetic.profiles import SupplierFrame
from wedsync_success.synthetic.timeline import (
    ANY_HOURS,
    COUPLE_HOURS,
    COUPLE_WEEKDAY,
    DAY,
    ENQUIRY_SEASON,
    SUPPLIER_WEEKDAY,
    WEDDING_SEASON,
    WORK_HOURS,
    Window,
    seconds_of_day,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

BUSY_DAY_SHAPE = 1.5
"""Gamma shape of the shared day factor (mean 1); lower means burstier days."""
OWNER_SHARE = 0.55
"""Share of a team's in-app actions done by the owner."""

LOGIN_RATE = 1.3
FEATURE_RATE = 0.60
MESSAGE_RATE = 0.75
CLIENT_RATE = 0.14
FORM_RATE = 0.012
JOURNEY_START_RATE = 0.08
INVOICE_RATE = 0.08
ENQUIRY_RATE = 0.22
JOURNEY_DONE_RATE = 0.07
TICKET_RATE = 0.003
CALENDAR_SYNC_RATE = 0.12
CLIENT_PAYS_SHARE = 0.85
REFERRAL_CONVERTS_SHARE = 0.30
TICKET_CLOSED_SHARE = 0.95

DEVICE_WEIGHTS = (0.62, 0.33, 0.05)
FORM_CREATED_WEIGHTS = (0.25, 0.45, 0.20, 0.10)
FORM_SUBMITTED_WEIGHTS = (0.72, 0.22, 0.05, 0.01)
CLIENT_SOURCE_WEIGHTS = (0.60, 0.28, 0.07, 0.05)
JOURNEY_WEIGHTS = (0.35, 0.35, 0.20, 0.10)
CHANNEL_WEIGHTS = (0.60, 0.30, 0.10)
TICKET_WEIGHTS = (0.45, 0.15, 0.20, 0.10, 0.10)
BILLING_TROUBLE_TICKET_WEIGHTS = (0.15, 0.60, 0.10, 0.10, 0.05)
REFERRAL_CHANNEL_WEIGHTS = (0.50, 0.30, 0.20)


def draw_codes(rng: np.random.Generator, count: int, weights: tuple[float, ...]) -> IntArray:
    """``count`` indices drawn with ``weights``."""
    p = np.asarray(weights, dtype=np.float64)
    result: IntArray = rng.choice(p.size, size=count, p=p / p.sum()).astype(np.int64)
    return result


def pick_users(rng: np.random.Generator, n_users: IntArray, owner_share: float) -> IntArray:
    """Which team member acted: the owner with ``owner_share``, else any other member."""
    count = n_users.size
    other = 1 + (rng.random(count) * np.maximum(n_users - 1, 1)).astype(np.int64)
    owner = (n_users <= 1) | (rng.random(count) < owner_share)
    result: IntArray = np.where(owner, 0, other)
    return result


def _gamma_days(rng: np.random.Generator, count: int, shape: float, mean_days: float) -> IntArray:
    result: IntArray = (rng.gamma(shape, mean_days / shape, count) * DAY).astype(np.int64)
    return result


@dataclass(frozen=True)
class Cells:
    """The supplier-days on which suppliers are customers, with their daily factors."""

    row: IntArray
    day: IntArray
    engagement: FloatArray
    tenure: FloatArray
    busy: FloatArray
    wedding: FloatArray
    enquiry: FloatArray
    supplier_weekday: FloatArray
    couple_weekday: FloatArray
    day_start: IntArray

    def subset(self, mask: BoolArray) -> Cells:
        return Cells(
            row=self.row[mask],
            day=self.day[mask],
            engagement=self.engagement[mask],
            tenure=self.tenure[mask],
            busy=self.busy[mask],
            wedding=self.wedding[mask],
            enquiry=self.enquiry[mask],
            supplier_weekday=self.supplier_weekday[mask],
            couple_weekday=self.couple_weekday[mask],
            day_start=self.day_start[mask],
        )

    def after(self, first_sec: IntArray) -> BoolArray:
        """Days that start after the supplier's first event of some kind."""
        result: BoolArray = self.day_start >= first_sec[self.row]
        return result


def build_cells(
    rng: np.random.Generator, frame: SupplierFrame, window: Window, engagement: FloatArray
) -> Cells:
    """The cells with positive engagement, each with its season, weekday and busy-day factor."""
    flat = np.flatnonzero(engagement > 0.0)
    row = flat // window.n_days
    day = flat % window.n_days
    wedding_north = window.monthly(WEDDING_SEASON)
    wedding_south = window.monthly(WEDDING_SEASON, shift_months=6)
    return Cells(
        row=row,
        day=day,
        engagement=engagement.reshape(-1)[flat],
        tenure=day + 0.5 - frame.signup_day[row],
        busy=rng.gamma(BUSY_DAY_SHAPE, 1.0 / BUSY_DAY_SHAPE, flat.size),
        wedding=np.where(frame.southern[row], wedding_south[day], wedding_north[day]),
        enquiry=window.monthly(ENQUIRY_SEASON)[day],
        supplier_weekday=window.by_weekday(SUPPLIER_WEEKDAY)[day],
        couple_weekday=window.by_weekday(COUPLE_WEEKDAY)[day],
        day_start=window.day_sec[day],
    )


class _Spawner:
    """Turns per-cell expected counts into events with times of day in local hours."""

    def __init__(self, rng: np.random.Generator, frame: SupplierFrame) -> None:
        self.rng = rng
        self.frame = frame

    def events(
        self,
        cells: Cells,
        rate: FloatArray,
        code: int,
        *,
        hours: tuple[float, ...] = WORK_HOURS,
        by_user: bool = True,
        detail: tuple[float, ...] | None = None,
    ) -> tuple[EventBatch, IntArray]:
        """Events of one type; also returns, per event, the index of its cell in ``cells``."""
        n = self.rng.poisson(rate)
        cell = np.repeat(np.arange(n.size), n)
        row = cells.row[cell]
        local = seconds_of_day(self.rng, cell.size, hours)
        sec = cells.day_start[cell] + local - self.frame.tz_offset_sec[row]
        user = pick_users(self.rng, self.frame.n_users[row], OWNER_SHARE) if by_user else -1
        codes = draw_codes(self.rng, cell.size, detail) if detail else 0
        return EventBatch.make(row, code, sec, user=user, detail=codes), cell


def daily_events(
    rng: np.random.Generator,
    frame: SupplierFrame,
    window: Window,
    engagement: FloatArray,
    billing_trouble: FloatArray,
    lo: IntArray,
    hi: IntArray,
    ticket_base: int,
) -> tuple[EventBatch, int]:
    """All day-to-day events of a group, kept within ``[lo, hi)`` per supplier.

    ``billing_trouble`` is the extra churn hazard from payment failures, reused here because
    failed payments also make suppliers open (billing) support tickets. Returns the events
    and the number of support tickets numbered from ``ticket_base``.
    """
    cells = build_cells(rng, frame, window, engagement)
    spawn = _Spawner(rng, frame)
    e = cells.engagement
    ev = cat.EventCode
    batches: list[EventBatch] = []

    onboarding_boost = 1.0 + 1.2 * np.exp(-np.maximum(cells.tenure, 0.0) / 7.0)
    login_rate = (
        LOGIN_RATE
        * frame.login_scale[cells.row]
        * e**0.9
        * (0.5 * cells.wedding + 0.5 * cells.enquiry)
        * cells.supplier_weekday
        * onboarding_boost
        * cells.busy
    )
    logins, login_cell = spawn.events(cells, login_rate, ev.LOGIN, detail=DEVICE_WEIGHTS)
    batches.append(logins)

    active_mask = np.zeros(cells.row.size, dtype=np.bool_)
    active_mask[login_cell] = True
    act = cells.subset(active_mask)
    ea = act.engagement
    size = frame.client_scale[act.row]
    has_client = act.after(frame.client_sec)

    feature_rate = FEATURE_RATE * ea**1.2 * act.busy
    features, feature_cell = spawn.events(act, feature_rate, ev.FEATURE_USED)
    batches.append(_with_features(rng, frame, features, act.tenure[feature_cell]))

    message_rate = MESSAGE_RATE * size * ea**1.1 * act.wedding * act.busy * has_client
    batches.append(spawn.events(act, message_rate, ev.MESSAGE_SENT, detail=CHANNEL_WEIGHTS)[0])

    client_season = 0.6 * act.enquiry + 0.4 * act.wedding
    client_rate = CLIENT_RATE * size * ea * client_season * act.busy * has_client
    batches.append(spawn.events(act, client_rate, ev.CLIENT_ADDED, detail=CLIENT_SOURCE_WEIGHTS)[0])

    form_rate = FORM_RATE * ea * act.busy * act.after(frame.form_sec)
    batches.append(spawn.events(act, form_rate, ev.FORM_CREATED, detail=FORM_CREATED_WEIGHTS)[0])

    journey_rate = JOURNEY_START_RATE * size * ea * act.wedding * act.busy
    journey_rate = journey_rate * act.after(frame.journey_sec)
    batches.append(spawn.events(act, journey_rate, ev.JOURNEY_STARTED, detail=JOURNEY_WEIGHTS)[0])

    invoice_rate = INVOICE_RATE * size * ea * act.wedding * act.busy * has_client
    invoices = spawn.events(act, invoice_rate, ev.INVOICE_SENT)[0]
    invoices = _with_amounts(rng, frame, invoices)
    batches.append(invoices)

    referral_rate = arch.column([p.referral_rate for p in arch.ARCHETYPES], frame.archetype)
    referrals = spawn.events(
        act, referral_rate[act.row] * ea**2, ev.REFERRAL_SENT, detail=REFERRAL_CHANNEL_WEIGHTS
    )[0]
    batches.append(referrals)

    # What couples and automations do, whether or not anyone logs in.
    enquiry_rate = ENQUIRY_RATE * frame.client_scale[cells.row] * e**0.5 * cells.enquiry
    enquiry_rate = enquiry_rate * cells.couple_weekday * cells.after(frame.form_sec)
    batches.append(
        spawn.events(
            cells,
            enquiry_rate,
            ev.FORM_SUBMITTED,
            hours=COUPLE_HOURS,
            by_user=False,
            detail=FORM_SUBMITTED_WEIGHTS,
        )[0]
    )
    done_rate = JOURNEY_DONE_RATE * frame.client_scale[cells.row] * e**0.7 * cells.wedding
    done_rate = done_rate * cells.after(frame.journey_sec + 10 * DAY)
    batches.append(
        spawn.events(
            cells,
            done_rate,
            ev.JOURNEY_COMPLETED,
            hours=ANY_HOURS,
            by_user=False,
            detail=JOURNEY_WEIGHTS,
        )[0]
    )
    syncing = frame.calendar_provider[cells.row] >= 0
    sync_rate = CALENDAR_SYNC_RATE * e**0.3 * syncing
    syncs = spawn.events(cells, sync_rate, ev.CALENDAR_SYNCED, hours=ANY_HOURS, by_user=False)[0]
    batches.append(_replace_detail(syncs, frame.calendar_provider[syncs.supplier]))

    trouble = billing_trouble.reshape(-1)[cells.row * window.n_days + cells.day]
    frustration = np.maximum(frame.e0[cells.row] - e, 0.0)
    ticket_rate = (
        TICKET_RATE
        + 0.025 * frustration
        + 0.012 * np.exp(-np.maximum(cells.tenure, 0.0) / 10.0)
        + 3.0 * trouble
    )
    tickets, ticket_cell = spawn.events(cells, ticket_rate, ev.SUPPORT_TICKET_OPENED)
    in_trouble = trouble[ticket_cell] > 0.0
    category = np.where(
        in_trouble,
        draw_codes(rng, len(tickets), BILLING_TROUBLE_TICKET_WEIGHTS),
        draw_codes(rng, len(tickets), TICKET_WEIGHTS),
    )
    tickets = _replace_detail(tickets, category)

    primary = EventBatch.concat(batches).within(lo, hi)
    tickets = tickets.within(lo, hi)
    numbers = ticket_base + np.arange(len(tickets), dtype=np.int64)
    tickets = _replace_detail(tickets, (numbers << cat.TICKET_CATEGORY_BITS) | tickets.detail)
    primary = _with_referral_tokens(primary)
    follow_ups = _follow_ups(rng, primary, tickets).within(lo, hi)
    return EventBatch.concat([primary, tickets, follow_ups]), len(tickets)


def _with_referral_tokens(primary: EventBatch) -> EventBatch:
    """Give each referral sent a token naming the business invited (a hash of the referrer
    and the moment: no draw, so every other draw is as it was), kept in its detail beside the
    channel; the conversion that follows copies the detail, so both events name the same
    invitee (``cat.referral_detail``)."""
    sent = primary.code == cat.EventCode.REFERRAL_SENT
    if not sent.any():
        return primary
    mixed = (primary.sec[sent] * 2_654_435_761 + primary.supplier[sent] * 40_503) % (
        cat.REFERRAL_TOKENS - 1
    ) + 1
    detail = primary.detail.copy()
    detail[sent] = cat.referral_detail(primary.detail[sent], mixed)
    return _replace_detail(primary, detail)


def name_referees(events: EventBatch, signup_sec: IntArray) -> EventBatch:
    """Name the supplier each converted referral brought in: the first supplier of the
    population to sign up at or after the conversion and not brought in by an earlier one
    (never the referrer itself), so the
    demo's referral network links real suppliers. No draw: the population's other events and
    figures are unchanged. A conversion after the last signup names none."""
    converted = np.flatnonzero(events.code == cat.EventCode.REFERRAL_CONVERTED)
    if not converted.size or not signup_sec.size:
        return events
    converted = converted[np.argsort(events.sec[converted], kind="stable")]
    by_signup = np.argsort(signup_sec, kind="stable")
    ordered = signup_sec[by_signup]
    at = np.searchsorted(ordered, events.sec[converted], side="left")
    # each signup is brought in once: a conversion whose signup is taken gets the next free
    # one (at[i] = max(at[i], at[i-1] + 1), as a running maximum)
    steps = np.arange(at.size)
    at = np.maximum.accumulate(at - steps) + steps
    referrer = events.supplier[converted]
    clash = (at < ordered.size) & (by_signup[np.minimum(at, ordered.size - 1)] == referrer)
    at = at + clash  # the referrer's own signup: the next one (rarely shared with another)
    found = at < ordered.size
    detail = events.detail.copy()
    rows = converted[found]
    detail[rows] = cat.with_referee(detail[rows], by_signup[at[found]])
    return EventBatch(events.supplier, events.user, events.code, events.sec, events.amount, detail)


def _replace_detail(batch: EventBatch, detail: IntArray) -> EventBatch:
    return EventBatch(batch.supplier, batch.user, batch.code, batch.sec, batch.amount, detail)


def _with_features(
    rng: np.random.Generator, frame: SupplierFrame, batch: EventBatch, tenure: FloatArray
) -> EventBatch:
    """Name the feature used: each supplier explores features in its own order, and engaged
    suppliers end up using more of them (the adoption signal of the health score)."""
    row = batch.supplier
    max_breadth = 2.0 + np.round(9.0 * frame.e0[row])
    breadth = 1.0 + np.floor((max_breadth - 1.0) * (1.0 - np.exp(-np.maximum(tenure, 0) / 45.0)))
    rank = np.minimum(np.floor(breadth * rng.random(row.size) ** 1.4), breadth - 1.0)
    feature = frame.feature_order[row, rank.astype(np.int64)]
    return _replace_detail(batch, feature)


def _with_amounts(rng: np.random.Generator, frame: SupplierFrame, batch: EventBatch) -> EventBatch:
    """Client invoice amounts: lognormal around the vendor type's typical booking, in the
    supplier's currency, rounded to 5 units as real quotes are."""
    row = batch.supplier
    median = np.asarray(cat.VENDOR_INVOICE_MEDIAN_PENCE, dtype=np.float64)[frame.vendor[row]]
    value = np.asarray(cat.CURRENCY_VALUE)[frame.currency[row]]
    raw = median * value * rng.lognormal(0.0, 0.45, row.size)
    amount = np.maximum(np.round(raw / 500.0) * 500.0, 5000.0).astype(np.int64)
    return EventBatch(batch.supplier, batch.user, batch.code, batch.sec, amount, batch.detail)


def _follow_ups(rng: np.random.Generator, primary: EventBatch, tickets: EventBatch) -> EventBatch:
    """Events that follow earlier ones: client payments after invoices, referral sign-ups after
    referrals, ticket closures after tickets."""
    ev = cat.EventCode
    out: list[EventBatch] = []

    invoices = primary.where(primary.code == ev.INVOICE_SENT)
    paid = invoices.where(rng.random(len(invoices)) < CLIENT_PAYS_SHARE)
    out.append(
        EventBatch.make(
            paid.supplier,
            ev.PAYMENT_RECEIVED,
            paid.sec + _gamma_days(rng, len(paid), 2.0, 6.0),
            amount=paid.amount,
            detail=cat.CLIENT_PAYMENT,
        )
    )
    referrals = primary.where(primary.code == ev.REFERRAL_SENT)
    joined = referrals.where(rng.random(len(referrals)) < REFERRAL_CONVERTS_SHARE)
    out.append(
        EventBatch.make(
            joined.supplier,
            ev.REFERRAL_CONVERTED,
            joined.sec + 5 * DAY + _gamma_days(rng, len(joined), 1.0, 25.0),
            detail=joined.detail,
        )
    )
    closed = tickets.where(rng.random(len(tickets)) < TICKET_CLOSED_SHARE)
    out.append(
        EventBatch.make(
            closed.supplier,
            ev.SUPPORT_TICKET_CLOSED,
            closed.sec + 1800 + _gamma_days(rng, len(closed), 1.5, 1.2),
            detail=closed.detail,
        )
    )
    return EventBatch.concat(out)
