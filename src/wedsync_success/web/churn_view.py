"""The churn block of the supplier profile: what the churn model says now, and since when.

- A current customer whose activity is newer than the last logged prediction (an event on a
  later day than its features, or one stored after it was made) gets a fresh prediction
  computed for the page by the serving path the API uses (``churn.serving``), shown as
  computed just now; nothing is written (a GET page). If that fails, or no model is
  active, the logged prediction is shown with the day it has been stale since.
- A cancelled supplier gets what is true of them instead: when and why they left, how
  long they were a customer, their last health before leaving, and the last prediction
  made before they left, with whether it saw it coming.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.repository import first_activity_after
from wedsync_success.churn import lazy
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.churn.repository import latest_prediction, latest_prediction_before
from wedsync_success.churn.windows import LOOKBACK_DAYS
from wedsync_success.health.repository import history as health_history
from wedsync_success.kit.clock import start_of_day
from wedsync_success.suppliers.profile import SupplierProfile

log = structlog.get_logger(__name__)

DAYS_PER_MONTH = 30.44

State = Literal["fresh", "logged", "stale", "none", "cancelled"]


@dataclass(frozen=True)
class ShownPrediction:
    """One prediction as the block shows it (logged, or computed for this page)."""

    probability: float
    risk_band: str
    horizon_days: int | None
    model_version: str
    as_of: date
    predicted_at: datetime | None
    """When it was logged; None when it was computed for this page."""
    drivers: list[dict[str, Any]]
    """Each with ``direction`` (up/down), ``impact`` and ``text``; empty when not stored."""
    outcome: bool | None = None
    horizon_end: datetime | None = None


@dataclass(frozen=True)
class Departure:
    """What is true of a supplier who left."""

    ended_at: datetime
    reason: str | None
    months: int
    """Whole months as a customer (subscription start to end)."""
    last_health: float | None
    last_health_band: str | None
    last_health_as_of: date | None
    saw_it_coming: bool | None
    """Did the last prediction before leaving rate them high risk, with the departure inside
    its horizon? None without such a prediction."""
    within_horizon: bool | None


@dataclass(frozen=True)
class ChurnBlock:
    state: State
    prediction: ShownPrediction | None = None
    stale_since: datetime | None = None
    """The first activity the logged prediction does not include."""
    refresh_problem: str | None = None
    """Why no fresh prediction could be computed (shown with a stale one)."""
    departure: Departure | None = None


def _logged(row: ChurnPrediction) -> ShownPrediction:
    return ShownPrediction(
        probability=row.probability,
        risk_band=row.risk_band,
        horizon_days=row.horizon_days,
        model_version=row.model_version,
        as_of=row.as_of,
        predicted_at=row.predicted_at,
        drivers=list(row.drivers or []),
        outcome=row.outcome,
        horizon_end=row.horizon_end,
    )


async def _fresh(
    session: AsyncSession, registry_root: Path, supplier_id: uuid.UUID, today: date
) -> ShownPrediction:
    serving = await lazy.serving()
    from wedsync_success.churn.registry import Registry

    out = await serving.predict_supplier(
        session=session, registry=Registry(registry_root), supplier_id=supplier_id, as_of=today
    )
    return ShownPrediction(
        probability=out.probability,
        risk_band=out.risk_band,
        horizon_days=out.horizon_days,
        model_version=out.model_version,
        as_of=today,
        predicted_at=None,
        drivers=[d.model_dump() for d in (*out.drivers_up, *out.drivers_down)],
    )


async def churn_block(
    *,
    session: AsyncSession,
    profile: SupplierProfile,
    registry_root: Path,
    now: datetime,
) -> ChurnBlock:
    """The churn block of ``profile``'s page as of ``now`` (reads only)."""
    if profile.subscription_ended_at is not None:
        return await _departed(session, profile)
    logged = await latest_prediction(session, profile.id)
    stale_since = None
    if logged is not None:
        stale_since = await first_activity_after(
            session,
            profile.id,
            as_of=logged.as_of,
            known_at=logged.predicted_at,
            since=start_of_day(logged.as_of - timedelta(days=LOOKBACK_DAYS)),
        )
        if stale_since is None:
            return ChurnBlock(state="logged", prediction=_logged(logged))
    try:
        fresh = await _fresh(session, registry_root, profile.id, now.date())
    except Exception as exc:  # any failure of serving: show what is logged, and say so
        log.info("churn_block_not_refreshed", supplier_id=str(profile.id), error=str(exc))
        if logged is None:
            return ChurnBlock(state="none", refresh_problem=_problem(exc))
        return ChurnBlock(
            state="stale",
            prediction=_logged(logged),
            stale_since=stale_since,
            refresh_problem=_problem(exc),
        )
    return ChurnBlock(state="fresh", prediction=fresh, stale_since=stale_since)


def _problem(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)


async def _departed(session: AsyncSession, profile: SupplierProfile) -> ChurnBlock:
    ended = profile.subscription_ended_at
    assert ended is not None
    started = profile.subscription_started_at or profile.signed_up_at
    months = max(int((ended - started).days / DAYS_PER_MONTH), 0)
    points = await health_history(
        session, profile.id, since=ended.date() - timedelta(days=400), until=ended.date()
    )
    last = points[-1] if points else profile.health  # else the score kept since they left
    before = await latest_prediction_before(session, profile.id, before=ended.date())
    saw, within = None, None
    if before is not None:
        within = ended <= before.horizon_end
        saw = within and before.risk_band == "high"
    return ChurnBlock(
        state="cancelled",
        prediction=_logged(before) if before is not None else None,
        departure=Departure(
            ended_at=ended,
            reason=profile.cancellation_reason,
            months=months,
            last_health=last.score if last else None,
            last_health_band=last.risk_level if last else None,
            last_health_as_of=last.as_of if last else None,
            saw_it_coming=saw,
            within_horizon=within,
        ),
    )
