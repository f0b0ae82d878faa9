""" "Active at instant t" is one rule, ``start <= t < end``, and every consumer follows it.

Five suppliers sit on the midnight boundary ``T`` (the end of 31 May 2026): one whose
subscription ends exactly at ``T`` (not a customer at ``T``; still one a microsecond
before), one ending a microsecond after ``T``, one starting exactly at ``T`` (a customer at
``T``), one starting a microsecond after, and one that never ended. Health scoring, churn
features, churn labels and outcomes, and the overview report must all agree on who was a
customer at ``T``; a consumer that drifts from the rule fails here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from tests.helpers import create_supplier
from wedsync_success.churn import repository as churn_repository
from wedsync_success.churn.features import FeatureSpec, compute_features
from wedsync_success.churn.labels import align, churn_labels
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.context import AppContext
from wedsync_success.health.models import HealthScoreHistory
from wedsync_success.health.service import recompute
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.reports.overview import monthly_churn, overview
from wedsync_success.suppliers.subscriptions import is_active_at, running_at_seconds

T = datetime(2026, 6, 1, tzinfo=UTC)
AS_OF = date(2026, 5, 31)  # "as of the end of 31 May" is the instant T
US = timedelta(microseconds=1)
SIGNUP = "2026-01-10T09:00:00+00:00"


def test_the_rule_is_half_open() -> None:
    start = T - timedelta(days=30)
    assert not is_active_at(started_at=start, ended_at=T, moment=T)
    assert is_active_at(started_at=start, ended_at=T, moment=T - US)
    assert is_active_at(started_at=T, ended_at=None, moment=T)
    assert not is_active_at(started_at=T, ended_at=None, moment=T - US)
    ends = np.array([T.timestamp(), (T + timedelta(seconds=1)).timestamp(), np.nan])
    assert running_at_seconds(ends, T.timestamp()).tolist() == [False, True, True]
    assert running_at_seconds(ends, T.timestamp() - 1).tolist() == [True, True, True]


async def _boundary_suppliers(client: httpx.AsyncClient) -> dict[str, uuid.UUID]:
    def cancelled(at: datetime) -> dict[str, str]:
        return {"subscription_status": "cancelled", "subscription_ended_at": at.isoformat()}

    specs = {
        "ends_at_midnight": {"signed_up_at": SIGNUP, **cancelled(T)},
        "ends_just_after": {"signed_up_at": SIGNUP, **cancelled(T + US)},
        "starts_at_midnight": {"signed_up_at": T.isoformat()},
        "starts_just_after": {"signed_up_at": (T + US).isoformat()},
        "open": {"signed_up_at": SIGNUP},
    }
    return {name: uuid.UUID(await create_supplier(client, **body)) for name, body in specs.items()}


ACTIVE_AT_T = {"ends_just_after", "starts_at_midnight", "open"}


@pytest.fixture
async def boundary(client: httpx.AsyncClient) -> dict[str, uuid.UUID]:
    return await _boundary_suppliers(client)


def _names(ids: dict[str, uuid.UUID], found: object) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[i] for i in found if i in by_id}  # type: ignore[attr-defined]


async def test_health_scores_the_customers_at_midnight(
    ctx: AppContext, boundary: dict[str, uuid.UUID]
) -> None:
    async with ctx.db.transaction() as session:
        await recompute(
            session=session,
            config=ctx.health,
            milestones_defined=len(ctx.milestones.milestones),
            as_of=AS_OF,
            supplier_ids=None,
            now=ctx.clock(),
        )
        h = HealthScoreHistory
        scored = (await session.scalars(select(h.supplier_id).where(h.as_of == AS_OF))).all()
    assert _names(boundary, scored) == ACTIVE_AT_T


async def test_churn_features_cover_the_customers_at_midnight(
    ctx: AppContext, boundary: dict[str, uuid.UUID]
) -> None:
    spec = FeatureSpec(milestone_keys=("first_client",))
    async with ctx.db.transaction() as session:
        everyone = await compute_features(session, spec=spec, as_of=AS_OF)
        one_by_one = [
            await compute_features(session, spec=spec, as_of=AS_OF, supplier_ids=[sid])
            for sid in boundary.values()
        ]
    assert _names(boundary, everyone.supplier_ids) == ACTIVE_AT_T
    assert _names(boundary, [i for f in one_by_one for i in f.supplier_ids]) == ACTIVE_AT_T


async def test_churn_labels_and_outcomes_count_an_end_at_the_horizon_as_churn(
    ctx: AppContext, boundary: dict[str, uuid.UUID]
) -> None:
    """A one-day horizon from the cutoff of 30 May ends exactly at ``T``."""
    leavers = [boundary["ends_at_midnight"], boundary["ends_just_after"]]
    async with ctx.db.transaction() as session:
        ends = await churn_repository.subscription_ends(session)
        ended = align(ends.keys, ends.ended_seconds, leavers)
        labels = churn_labels(ended, AS_OF - timedelta(days=1), horizon_days=1)
        await churn_repository.write_predictions(
            session,
            churn_repository.PredictionBatch(
                model_version="boundary",
                as_of=AS_OF - timedelta(days=1),
                horizon_days=1,
                horizon_end=T,
                predicted_at=T - timedelta(days=1),
                supplier_ids=leavers,
                probabilities=[0.5, 0.5],
                risk_bands=["medium", "medium"],
                drivers=[None, None],
            ),
            rates=DEFAULT_RATES,
        )
        await churn_repository.fill_outcomes(session, now=T + timedelta(days=1))
        p = ChurnPrediction
        rows = (await session.execute(select(p.supplier_id, p.outcome))).all()
    outcomes = {supplier_id: outcome for supplier_id, outcome in rows}
    assert labels.tolist() == [True, False]
    assert [outcomes[i] for i in leavers] == [True, False]


async def test_overview_counts_the_customers_at_midnight(
    ctx: AppContext, boundary: dict[str, uuid.UUID]
) -> None:
    async with ctx.db.transaction() as session:
        report = await overview(session, as_of=AS_OF, rates=DEFAULT_RATES, today=AS_OF)
        may, june = await monthly_churn(session, as_of=date(2026, 6, 30), months=2)
    assert report.active_suppliers == len(ACTIVE_AT_T)
    # May: ends_at_midnight, ends_just_after and open were customers on 1 May; only the first
    # is not one at T. June: the three customers at T; ends_just_after left during June.
    assert (may.month, may.active_at_start, may.churned) == (date(2026, 5, 1), 3, 1)
    assert (june.month, june.active_at_start, june.churned) == (date(2026, 6, 1), 3, 1)
