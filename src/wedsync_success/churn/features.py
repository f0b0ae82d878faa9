"""The ONE point-in-time feature definition, shared by training and live prediction.

Every feature of a supplier is computed *as of the end of a day* ``as_of``: the cutoff instant
is ``C = midnight UTC after as_of``, and nothing recorded at or after ``C`` can change a value:

* activity comes from ``daily_rollups`` with ``day <= as_of`` (and at most
  ``LOOKBACK_DAYS`` back), aggregated for many suppliers at once in one set-based query;
* milestones count only if ``achieved_at < C`` (the time of the deciding event, not of the
  detection run);
* the plan at ``C`` is rebuilt from ``subscription_changed`` events (the last change before
  ``C``, else the ``from_plan`` of the first change after it, else the current plan, which
  is then unchanged since ``C``);
* only attributes fixed at signup are read from the supplier row (signup time, vendor type,
  country);
* the generic per-event-type features of the model's vocabulary (``churn.generic``) come
  from ``daily_rollups`` with ``day <= as_of`` as well, on every path.

The domain aggregates count event types by role (``activity.roles``), so another product
maps its own names onto them.

Deliberately never used: ``subscription_status``, ``subscription_ended_at``,
``cancellation_reason``, ``mrr_minor`` and ``supplier_event_totals`` counts - they describe
the present, and would leak the outcome into the past (tests prove the cutoff invariance).

Batch training calls :func:`compute_features` once per cutoff for every eligible supplier;
the API calls the very same function with one supplier id.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Date, Uuid, and_, bindparam, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.models import ActivityEvent, DailyRollup, SupplierEventTotal
from wedsync_success.activity.repository import of_types
from wedsync_success.churn import feature_store, generic
from wedsync_success.churn.generic import EventFeatures
from wedsync_success.churn.models import activity_windows
from wedsync_success.churn.windows import (
    INTERNAL_AGGREGATES,
    LOOKBACK_DAYS,
    ROLLUP_AGGREGATES,
    RollupAggregate,
)
from wedsync_success.db.raw import epoch_day, epoch_days, epoch_seconds, untyped, uuids
from wedsync_success.db.types import UTCDateTime
from wedsync_success.kit.clock import start_of_day
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.suppliers.models import PlanTier, Supplier, VendorType
from wedsync_success.suppliers.subscriptions import join_active_at

FloatArray = npt.NDArray[np.float64]
Source = Literal["rollups", "store"]
"""Where activity aggregates come from: the rollups (the definition, any day) or the feature
store (the same values, maintained on ingest, only for the store's own day: read on another
day it returns no supplier)."""

PLAN_VOCABULARY: tuple[str, ...] = tuple(p.value for p in PlanTier)
VENDOR_VOCABULARY: tuple[str, ...] = tuple(v.value for v in VendorType)
CATEGORICAL: dict[str, tuple[str, ...]] = {
    "plan": PLAN_VOCABULARY,
    "vendor_type": VENDOR_VOCABULARY,
}
"""Categorical features and their vocabularies (a value is its index; unknown is NaN)."""

SOUTHERN_HEMISPHERE = frozenset({"AU", "NZ", "ZA", "AR", "BR", "CL", "UY"})
PEAK_MONTH_NORTH, PEAK_MONTH_SOUTH = 7, 1
"""Wedding seasons peak in July in the north and in January in the south."""
CALENDAR_FEATURES = frozenset({"months_to_peak"})
"""Features fixed by the calendar: the same for everyone at one cutoff (drift ignores them)."""


DERIVED: tuple[str, ...] = (
    "days_since_login",
    "days_since_key_action",
    "days_since_payment_failed",
    "login_trend_7_30",
    "login_trend_30_90",
    "key_actions_trend_30_90",
    "login_days_change_30d",
    "tenure_days",
    "months_to_peak",
    "plan",
    "vendor_type",
    "milestones_reached",
)


@dataclass(frozen=True)
class FeatureSpec:
    """The feature set of a model: fixed columns plus one time-to-milestone per milestone.

    Stored in each model's metadata, so a model always gets exactly the columns, in the
    order, that it was trained on, even after the milestone catalogue changes.
    """

    milestone_keys: tuple[str, ...]
    milestone_names: tuple[str, ...] = ()
    """Display names of the milestones, for explanations (same order as the keys)."""
    events: EventFeatures = field(default_factory=EventFeatures)
    """The event vocabulary of the generic per-type features (``churn.generic``)."""

    @property
    def names(self) -> tuple[str, ...]:
        rollup = tuple(a.name for a in ROLLUP_AGGREGATES if a.name not in INTERNAL_AGGREGATES)
        milestones = (f"days_to_{k}" for k in self.milestone_keys)
        return (*rollup, *DERIVED, *milestones, *self.events.names)

    @property
    def categorical(self) -> dict[str, tuple[str, ...]]:
        return dict(CATEGORICAL)

    def to_json(self) -> dict[str, Any]:
        return {
            "milestone_keys": list(self.milestone_keys),
            "milestone_names": list(self.milestone_names),
            "events": self.events.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            milestone_keys=tuple(data["milestone_keys"]),
            milestone_names=tuple(data.get("milestone_names", ())),
            events=EventFeatures.from_json(data.get("events")),
        )

    @functools.cached_property
    def _display_names(self) -> dict[str, str]:
        return dict(zip(self.milestone_keys, self.milestone_names, strict=False))

    def milestone_name(self, key: str) -> str:
        return self._display_names.get(key, key.replace("_", " "))


@dataclass(frozen=True)
class FeatureFrame:
    """Features of the eligible suppliers as of a day: one row per supplier, NaN = missing."""

    supplier_ids: list[uuid.UUID]
    matrix: FloatArray
    names: tuple[str, ...]
    as_of: date

    def __len__(self) -> int:
        return len(self.supplier_ids)

    def column(self, name: str) -> FloatArray:
        result: FloatArray = self.matrix[:, self.names.index(name)]
        return result


@dataclass(frozen=True)
class PlanChanges:
    """Every plan change of the suppliers that ever changed plan, in time order.

    Loaded once per training run (they are few) and reused for every cutoff.
    """

    supplier_ids: npt.NDArray[np.str_]
    seconds: FloatArray
    new_plan: npt.NDArray[np.object_]
    from_plan: npt.NDArray[np.object_]


NO_PLAN_CHANGES = PlanChanges(
    supplier_ids=np.zeros(0, dtype=np.str_),
    seconds=np.zeros(0),
    new_plan=np.zeros(0, dtype=object),
    from_plan=np.zeros(0, dtype=object),
)
MAX_LISTED_IDS = 1000
"""Above this many suppliers, load every plan change rather than list ids in the query."""


def cutoff_seconds(as_of: date) -> float:
    """The cutoff instant of ``as_of`` (midnight UTC after it), in epoch seconds."""
    return start_of_day(as_of + timedelta(days=1)).timestamp()


def _days_back(n: int) -> Any:
    """The bound parameter "``as_of`` minus ``n`` days" (its value is set per call)."""
    return bindparam(f"back_{n}", type_=Date)


def _aggregate(agg: RollupAggregate) -> Any:
    r = DailyRollup
    upper = bindparam("as_of", type_=Date) if agg.start == 0 else _days_back(agg.start)
    inside = and_(r.day > _days_back(agg.end), r.day <= upper, r.event_type.in_(agg.types))
    # No COUNT(DISTINCT ...): each one costs a temporary B-tree per group, which made the
    # query several times slower over 100K suppliers. The rollup key (supplier, day, type)
    # makes both rewrites exact: one row per day for a single type, and "used a type" is
    # the max of a 0/1 flag.
    match agg.kind:
        case "sum":
            return func.coalesce(func.sum(case((inside, r.count), else_=0)), 0)
        case "days":
            assert len(agg.types) <= 1, "distinct days are counted for one event type"
            return func.coalesce(func.sum(case((inside, 1), else_=0)), 0)
        case "types":
            window = and_(r.day > _days_back(agg.end), r.day <= upper)
            flags = [
                func.max(case((and_(window, r.event_type == t), 1), else_=0)) for t in agg.types
            ]
            return functools.reduce(operator.add, flags, literal(0))
        case "last":
            return func.max(case((inside, r.day)))
    raise ValueError(f"unknown aggregate kind {agg.kind}")


def _parameters(as_of: date) -> dict[str, Any]:
    """Values of the query's bound parameters for one cutoff."""
    bounds = {a.end for a in ROLLUP_AGGREGATES} | {a.start for a in ROLLUP_AGGREGATES}
    bounds.add(LOOKBACK_DAYS)
    params: dict[str, Any] = {f"back_{n}": as_of - timedelta(days=n) for n in bounds}
    params["as_of"] = as_of
    params["cutoff"] = start_of_day(as_of + timedelta(days=1))
    return params


def _rollup_activity(filtered: bool) -> Any:
    """The definition: every aggregate over the supplier's rollups in the look-back window."""
    r = DailyRollup
    where = [r.day > _days_back(LOOKBACK_DAYS), r.day <= bindparam("as_of", type_=Date)]
    if filtered:
        where.append(r.supplier_id.in_(bindparam("ids", expanding=True, type_=Uuid)))
    return (
        select(r.supplier_id, *(_aggregate(a).label(a.name) for a in ROLLUP_AGGREGATES))
        .where(*where)
        .group_by(r.supplier_id)
        .subquery()
    )


def _store_activity(filtered: bool) -> Any:
    """The same aggregates read from the feature store (valid for the store's day only)."""
    w = activity_windows
    query = select(w.c.supplier_id, *feature_store.read_columns(_days_back(LOOKBACK_DAYS)))
    if filtered:
        query = query.where(w.c.supplier_id.in_(bindparam("ids", expanding=True, type_=Uuid)))
    return query.subquery()


@functools.lru_cache(maxsize=32)
def _feature_query(spec: FeatureSpec, filtered: bool, source: Source = "rollups") -> Any:
    """The aggregation query, built once per feature set: only its parameters change.

    Building a statement with ~40 aggregates costs milliseconds of Python, more than running
    it for one supplier, so the live path must not rebuild it per request.
    """
    ma, s, plan_changes = MilestoneAchievement, Supplier, SupplierEventTotal
    cutoff = bindparam("cutoff", type_=UTCDateTime)
    ms_filter = [ma.achieved_at < cutoff]
    supplier_filter: list[ColumnElement[bool]] = []
    if filtered:
        ids = bindparam("ids", expanding=True, type_=Uuid)
        ms_filter.append(ma.supplier_id.in_(ids))
        supplier_filter.append(s.id.in_(ids))
    if source == "store":
        agg = _store_activity(filtered)
        supplier_filter.append(feature_store.is_at(bindparam("as_of", type_=Date)))
    else:
        agg = _rollup_activity(filtered)
    milestones = (
        select(
            ma.supplier_id,
            func.count().label("reached"),
            *(
                func.max(case((ma.milestone_key == key, ma.days_to_achieve))).label(f"m{i}")
                for i, key in enumerate(spec.milestone_keys)
            ),
        )
        .where(*ms_filter)
        .group_by(ma.supplier_id)
        .subquery()
    )
    # No activity in the look-back window means zero of everything, not "unknown".
    activity = [
        agg.c[a.name] if a.kind == "last" else func.coalesce(agg.c[a.name], 0).label(a.name)
        for a in ROLLUP_AGGREGATES
    ]
    query = (
        select(
            s.id,
            s.signed_up_at,
            s.country,
            s.vendor_type,
            s.plan_tier,
            *activity,
            milestones.c.reached,
            *(milestones.c[f"m{i}"] for i in range(len(spec.milestone_keys))),
            func.coalesce(plan_changes.count, 0).label("plan_changes"),
        )
        .outerjoin(agg, agg.c.supplier_id == s.id)
        .outerjoin(milestones, milestones.c.supplier_id == s.id)
        .outerjoin(
            plan_changes,
            and_(
                plan_changes.supplier_id == s.id,
                plan_changes.event_type == "subscription_changed",
            ),
        )
    )
    # Eligible: a customer at the cutoff, by its history (two joins on its coverage).
    query, eligible = join_active_at(query, s.id, cutoff)
    query = query.where(eligible, *supplier_filter).order_by(s.id)
    # Raw driver values, converted a column at a time by _frame (see db.raw).
    return untyped(query)


async def load_plan_changes(
    session: AsyncSession, supplier_ids: Sequence[uuid.UUID] | None = None
) -> PlanChanges:
    """Plan changes (new plan, previous plan, time) of suppliers who ever changed plan.

    Starts from ``supplier_event_totals`` so that only the few suppliers with a change are
    looked up, through the (supplier, type, time) index of the events.
    """
    e, t = ActivityEvent, SupplierEventTotal
    new_plan = func.coalesce(
        e.properties["to_plan"].as_string(), e.properties["plan_tier"].as_string()
    )
    changed = select(t.supplier_id).where(t.event_type == "subscription_changed")
    if supplier_ids is not None:
        changed = changed.where(t.supplier_id.in_(supplier_ids))
    query = (
        select(e.supplier_id, e.occurred_at, new_plan, e.properties["from_plan"].as_string())
        .where(e.supplier_id.in_(changed), of_types("subscription_changed"))
        .order_by(e.supplier_id, e.occurred_at, e.event_id)
    )
    rows = (await session.execute(query)).all()
    ids, times, new, old = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
    return PlanChanges(
        supplier_ids=np.asarray([str(i) for i in ids], dtype=np.str_),
        seconds=np.asarray([t.timestamp() for t in times], dtype=np.float64),
        new_plan=np.asarray(new, dtype=object),
        from_plan=np.asarray(old, dtype=object),
    )


def _plan_at_cutoff(
    ids: npt.NDArray[np.str_],
    current: npt.NDArray[np.object_],
    changes: PlanChanges,
    cutoff: float,
) -> npt.NDArray[np.object_]:
    """The plan each supplier was on at ``cutoff``, rebuilt from its plan changes."""
    plan = current.copy()
    if changes.supplier_ids.size == 0 or ids.size == 0:
        return plan
    order = np.argsort(ids)
    pos = np.searchsorted(ids, changes.supplier_ids, sorter=order)
    pos = np.clip(pos, 0, ids.size - 1)
    known = ids[order[pos]] == changes.supplier_ids
    row = order[pos]
    # A change after the cutoff means the current plan is not the plan at the cutoff: the
    # first such change's from_plan is (None when the event does not say).
    after = known & (changes.seconds >= cutoff)
    if after.any():
        rows_after = row[after]
        first = np.unique(rows_after, return_index=True)[1]
        plan[rows_after[first]] = changes.from_plan[after][first]
    # A change before the cutoff with a known new plan is the plan at the cutoff, unless a
    # later change (still before the cutoff) replaced it: keep the last one.
    before = known & (changes.seconds < cutoff) & (changes.new_plan != None)  # noqa: E711
    if before.any():
        rows_before = row[before][::-1]
        last = np.unique(rows_before, return_index=True)[1]
        plan[rows_before[last]] = changes.new_plan[before][::-1][last]
    return plan


def _codes(values: npt.NDArray[np.object_], vocabulary: tuple[str, ...]) -> FloatArray:
    lookup = {v: float(i) for i, v in enumerate(vocabulary)}
    return np.asarray([lookup.get(v, np.nan) for v in values.tolist()], dtype=np.float64)


def _ratio(short: FloatArray, short_days: int, long: FloatArray, long_days: int) -> FloatArray:
    """Rate over the short window / rate over the long one (NaN when the long one is empty)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(long > 0, (short / short_days) / (long / long_days), np.nan)
    return result


def _days_since(last: Sequence[Any], as_of: date, cap: FloatArray) -> FloatArray:
    """Whole days from the last active day to ``as_of``; ``cap`` where there was none."""
    since = epoch_day(as_of) - epoch_days(last)
    result: FloatArray = np.where(np.isnan(since), cap, since)
    return result


def _months_to_peak(countries: Sequence[str], as_of: date) -> FloatArray:
    south = np.asarray([c in SOUTHERN_HEMISPHERE for c in countries], dtype=np.bool_)
    peak = np.where(south, PEAK_MONTH_SOUTH, PEAK_MONTH_NORTH)
    result: FloatArray = ((peak - as_of.month) % 12).astype(np.float64)
    return result


async def compute_features(
    session: AsyncSession,
    *,
    spec: FeatureSpec,
    as_of: date,
    supplier_ids: Sequence[uuid.UUID] | None = None,
    plan_changes: PlanChanges | None = None,
    source: Source = "rollups",
) -> FeatureFrame:
    """Features of every supplier eligible at the end of ``as_of`` (or only ``supplier_ids``).

    One aggregation query over rollups (or the feature store) and milestones for all
    suppliers, then NumPy. ``plan_changes`` may be passed in to reuse one load across many
    cutoffs. ``source="store"`` gives no rows unless the store is at ``as_of`` (checked in
    the same statement); batch scoring also holds the store's lock so that no ingest batch
    lands while it reads (see :func:`churn.service.score_all`).
    """
    params = _parameters(as_of)
    if supplier_ids is not None:
        params["ids"] = list(supplier_ids)
    query = _feature_query(spec, supplier_ids is not None, source)
    # Core execution: the ORM layer adds milliseconds per call and nothing here needs it.
    connection = await session.connection()
    rows = (await connection.execute(query, params)).all()
    if plan_changes is None:
        # Most suppliers never change plan: look events up only for those who did.
        changed = uuids([row[0] for row in rows if row[-1]])
        if not changed:
            plan_changes = NO_PLAN_CHANGES
        else:
            few = len(changed) <= MAX_LISTED_IDS
            plan_changes = await load_plan_changes(session, changed if few else None)
    events = np.zeros((len(rows), 0))
    if spec.events.event_types:
        # Always from the rollups (the feature store keeps the domain windows only): the
        # same definition for training, batch scoring and one supplier's prediction.
        query = generic.generic_query(spec.events.event_types, supplier_ids is not None)
        generic_params = generic.parameters(as_of)
        if supplier_ids is not None:
            generic_params["ids"] = params["ids"]
        per_type = (await connection.execute(query, generic_params)).all()
        events = generic.frame_values(per_type, [row[0] for row in rows], spec.events, as_of)
    return _frame(rows, spec=spec, as_of=as_of, plan_changes=plan_changes, events=events)


def _frame(
    rows: Sequence[Any],
    *,
    spec: FeatureSpec,
    as_of: date,
    plan_changes: PlanChanges,
    events: FloatArray,
) -> FeatureFrame:
    """Turn the aggregation rows into the feature matrix (all columns at once)."""
    n_fixed = 5 + len(ROLLUP_AGGREGATES)
    width = n_fixed + 2 + len(spec.milestone_keys)
    cols: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else []
    if not cols:
        cols = [[] for _ in range(width)]
    ids, signed_up, countries, vendors, plans = cols[:5]
    raw = {a.name: cols[5 + i] for i, a in enumerate(ROLLUP_AGGREGATES)}
    n = len(ids)

    def num(values: Sequence[Any]) -> FloatArray:
        return np.asarray(values, dtype=np.float64).reshape(n)

    cutoff = cutoff_seconds(as_of)
    signup_sec = epoch_seconds(signed_up)
    tenure = np.maximum((cutoff - signup_sec) / 86_400.0, 0.0)
    cap = np.minimum(np.floor(tenure), float(LOOKBACK_DAYS))
    values: dict[str, FloatArray] = {
        a.name: num(raw[a.name]) for a in ROLLUP_AGGREGATES if a.name not in INTERNAL_AGGREGATES
    }
    values["days_since_login"] = _days_since(raw["last_login"], as_of, cap)
    values["days_since_key_action"] = _days_since(raw["last_key_action"], as_of, cap)
    values["days_since_payment_failed"] = _days_since(
        raw["last_payment_failed"], as_of, np.full(n, float(LOOKBACK_DAYS))
    )
    values["login_trend_7_30"] = _ratio(values["logins_7d"], 7, values["logins_30d"], 30)
    values["login_trend_30_90"] = _ratio(values["logins_30d"], 30, values["logins_90d"], 90)
    values["key_actions_trend_30_90"] = _ratio(
        values["key_actions_30d"], 30, values["key_actions_90d"], 90
    )
    values["login_days_change_30d"] = values["login_days_30d"] - values["login_days_prev_30d"]
    values["tenure_days"] = np.round(tenure, 2).astype(np.float64)
    values["months_to_peak"] = _months_to_peak(countries, as_of)
    plan = np.asarray(plans, dtype=object)
    ids = uuids(ids)
    if plan_changes.supplier_ids.size:
        id_text = np.asarray([str(i) for i in ids], dtype=np.str_)
        plan = _plan_at_cutoff(id_text, plan, plan_changes, cutoff)
    values["plan"] = _codes(plan, PLAN_VOCABULARY)
    values["vendor_type"] = _codes(np.asarray(vendors, dtype=object), VENDOR_VOCABULARY)
    values["milestones_reached"] = np.nan_to_num(num(cols[n_fixed]), nan=0.0)
    for i, key in enumerate(spec.milestone_keys):
        values[f"days_to_{key}"] = np.round(num(cols[n_fixed + 1 + i]), 2)
    for j, name in enumerate(spec.events.names):
        values[name] = events[:, j]
    names = spec.names
    matrix = np.column_stack([values[name] for name in names]) if n else np.zeros((0, len(names)))
    return FeatureFrame(
        supplier_ids=list(ids), matrix=matrix.astype(np.float64), names=names, as_of=as_of
    )
