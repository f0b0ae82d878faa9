"""Where the supplier row and the subscription history disagree, every place that asks "a
customer at t?" follows the history (``suppliers.subscriptions.active_at_by_periods``).

Three suppliers whose rows say one thing and whose stored periods another (the periods are
written directly, so the row is not derived from them):

- ``a``: the row is open; the history ended on 15 May.
- ``b``: the row was cancelled on 15 May; the history is open.
- ``c``: the row is open; the history has a gap, [10 Jan, 1 Mar) then [10 Jun, open).

By the history the customers at 1 May are ``a`` and ``b``, at 31 May and 1 June only
``b``; by the rows they would be ``a``, ``c`` (and ``b`` until 15 May).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.reports.roi_data import run, supplier
from wedsync_success.churn.features import FeatureSpec, compute_features
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.context import AppContext
from wedsync_success.interventions import results_repository
from wedsync_success.interventions.models import Arm
from wedsync_success.reports import accuracy_repository, roi_repository
from wedsync_success.reports.overview import monthly_churn
from wedsync_success.suppliers.coverage import refresh_coverage
from wedsync_success.suppliers.models import SubscriptionPeriod

KEY = "disagreeing_rows"


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _period(supplier_id: uuid.UUID, starts: str, ends: str | None) -> SubscriptionPeriod:
    return SubscriptionPeriod(
        supplier_id=supplier_id,
        plan="professional",
        starts_at=_at(starts),
        ends_at=_at(ends) if ends else None,
        mrr_minor=4900,
        currency="GBP",
        quantity=1,
        discount_minor=0,
        bill_period_months=1,
        created_at=_at("2026-01-10"),
    )


@pytest.fixture
async def disagreeing(ctx: AppContext) -> dict[str, uuid.UUID]:
    signup = _at("2026-01-10")
    ids = {
        "a": await supplier(ctx, ended_at=None, signed_up_at=signup),
        "b": await supplier(ctx, ended_at=_at("2026-05-15"), signed_up_at=signup),
        "c": await supplier(ctx, ended_at=None, signed_up_at=signup),
    }
    async with ctx.db.transaction() as session:
        session.add_all(
            [
                _period(ids["a"], "2026-01-10", "2026-05-15"),
                _period(ids["b"], "2026-01-10", None),
                _period(ids["c"], "2026-01-10", "2026-03-01"),
                _period(ids["c"], "2026-06-10", None),
            ]
        )
        await session.flush()
        await refresh_coverage(session=session, supplier_ids=list(ids.values()))
    return ids


def _names(ids: dict[str, uuid.UUID], found: object) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[i] for i in found if i in by_id}  # type: ignore[attr-defined]


async def test_churn_features_take_the_customers_of_the_history(
    ctx: AppContext, disagreeing: dict[str, uuid.UUID]
) -> None:
    """Who is eligible for a churn row (and scored) at the cutoff of 31 May."""
    spec = FeatureSpec(milestone_keys=("first_client",))
    async with ctx.db.transaction() as session:
        everyone = await compute_features(session, spec=spec, as_of=date(2026, 5, 31))
        each = await compute_features(
            session, spec=spec, as_of=date(2026, 5, 31), supplier_ids=list(disagreeing.values())
        )
    assert _names(disagreeing, everyone.supplier_ids) == {"b"}
    assert _names(disagreeing, each.supplier_ids) == {"b"}


async def test_overview_churn_follows_the_history(
    ctx: AppContext, disagreeing: dict[str, uuid.UUID]
) -> None:
    async with ctx.db.transaction() as session:
        may, june = await monthly_churn(session, as_of=date(2026, 6, 30), months=2)
    # May: a and b at its start, a gone by its end. June: b alone (c comes back on 10 June:
    # a reactivation, not one of the month's starting customers).
    assert (may.active_at_start, may.churned) == (2, 1)
    assert (june.active_at_start, june.churned) == (1, 0)


async def test_intervention_results_and_roi_count_retention_from_the_history(
    ctx: AppContext, disagreeing: dict[str, uuid.UUID]
) -> None:
    enrolled = _at("2026-04-01")
    async with ctx.db.transaction() as session:
        session.add_all(
            [
                run(sid, KEY, arm=Arm.TREATMENT, enrolled_at=enrolled, mrr=4900)
                for sid in disagreeing.values()
            ]
        )
    async with ctx.db.transaction() as session:
        (arm,) = await results_repository.runs_by_arm(
            session, playbook_key=KEY, as_of=_at("2026-09-01"), horizons=[60]
        )
        (group,) = await roi_repository.cohort(session, start=enrolled, end=_at("2026-06-01"))
    # 60 days after 1 April is 31 May: only b is a customer then.
    sixty = arm.horizons[60]
    assert (sixty.observed, sixty.retained, sixty.lost) == (3, 1, 2)
    assert (group.runs, group.retained) == (3, 1)


async def test_model_accuracy_outcome_follows_the_history(
    ctx: AppContext, disagreeing: dict[str, uuid.UUID]
) -> None:
    """Predicted as of 30 April for 30 days: the horizon ends on 31 May."""
    cutoff = _at("2026-05-01")
    probabilities = {"a": 0.1, "b": 0.2, "c": 0.3}
    async with ctx.db.transaction() as session:
        session.add_all(
            [
                ChurnPrediction(
                    supplier_id=disagreeing[name],
                    model_version="v1",
                    as_of=date(2026, 4, 30),
                    horizon_days=30,
                    horizon_end=cutoff + timedelta(days=30),
                    probability=p,
                    risk_band="low",
                    predicted_at=cutoff,
                )
                for name, p in probabilities.items()
            ]
        )
    async with ctx.db.transaction() as session:
        outcomes = await accuracy_repository.monthly_outcomes(
            session, start=date(2026, 4, 1), end=date(2026, 5, 1), known_by=_at("2026-07-01")
        )
    churned = dict(zip(outcomes.probability.tolist(), outcomes.churned.tolist(), strict=True))
    assert churned == {0.1: True, 0.2: False, 0.3: True}
