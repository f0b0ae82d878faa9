"""A playbook's results from stored runs and interventions, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from wedsync_success.context import AppContext
from wedsync_success.interventions.measurement import newcombe_interval
from wedsync_success.interventions.models import (
    Arm,
    DeliveryStatus,
    Intervention,
    PlaybookRun,
    RunStatus,
)
from wedsync_success.interventions.results import playbook_results
from wedsync_success.suppliers.service import upsert_batch

KEY = "at_risk_rescue"
DAY = timedelta(days=1)


async def _supplier(
    ctx: AppContext, *, signed_up_at: datetime, ended_at: datetime | None, currency: str = "GBP"
) -> uuid.UUID:
    supplier_id = uuid.uuid4()
    item = {
        "id": str(supplier_id),
        "business_name": f"Supplier {supplier_id.hex[:6]}",
        "vendor_type": "photographer",
        "country": "GB",
        "signed_up_at": signed_up_at.isoformat(),
        "plan_tier": "professional",
        "mrr_minor": 4900,
        "currency": currency,
        "subscription_status": "cancelled" if ended_at else "active",
        "subscription_ended_at": ended_at.isoformat() if ended_at else None,
    }
    async with ctx.db.transaction() as session:
        result = await upsert_batch(session=session, items=[item], now=ctx.clock())
    assert result.created == 1, result.errors
    return supplier_id


def _run(
    supplier_id: uuid.UUID,
    *,
    arm: Arm,
    enrolled_at: datetime,
    mrr: int,
    currency: str = "GBP",
    status: RunStatus = RunStatus.COMPLETED,
    key: str = KEY,
) -> PlaybookRun:
    return PlaybookRun(
        id=uuid.uuid4(),
        playbook_key=key,
        goal_group="retention",
        supplier_id=supplier_id,
        arm=arm,
        status=status,
        trigger={"event": "supplier.risk_level_changed"},
        enrolled_at=enrolled_at,
        ended_at=enrolled_at + 3 * DAY,
        mrr_minor_at_enrolment=mrr,
        currency=currency,
    )


def _message(run: PlaybookRun, step: int, channel: str, status: str, **at: Any) -> Intervention:
    return Intervention(
        idempotency_key=f"{run.id}:{step}",
        run_id=run.id,
        step_no=step,
        playbook_key=run.playbook_key,
        supplier_id=run.supplier_id,
        channel=channel,
        category="marketing",
        template="at_risk_checkin",
        status=status,
        created_at=run.enrolled_at,
        updated_at=run.enrolled_at,
        sent_at=run.enrolled_at if status == DeliveryStatus.SENT else None,
        **at,
    )


@pytest.fixture
async def scenario(ctx: AppContext) -> datetime:
    """Runs whose retention, funnel and money are worked out by hand below."""
    as_of = ctx.clock()
    old = as_of - 100 * DAY + timedelta(microseconds=123_456)  # observed at 30, 60 and 90
    young = as_of - 45 * DAY  # observed at 30 only
    signup = as_of - 400 * DAY
    t1 = _run(
        await _supplier(ctx, signed_up_at=signup, ended_at=None),
        arm=Arm.TREATMENT,
        enrolled_at=old,
        mrr=3000,
        status=RunStatus.GOAL_REACHED,
    )
    # Ends exactly 30 days after enrolment: not a customer at that instant (half-open).
    t2 = _run(
        await _supplier(ctx, signed_up_at=signup, ended_at=old + 30 * DAY),
        arm=Arm.TREATMENT,
        enrolled_at=old,
        mrr=1500,
    )
    t3 = _run(
        await _supplier(ctx, signed_up_at=signup, ended_at=young + 30 * DAY + timedelta(seconds=1)),
        arm=Arm.TREATMENT,
        enrolled_at=young,
        mrr=2000,
        currency="EUR",
    )
    c1 = _run(
        await _supplier(ctx, signed_up_at=signup, ended_at=old + 50 * DAY),
        arm=Arm.CONTROL,
        enrolled_at=old,
        mrr=2500,
    )
    c2 = _run(
        await _supplier(ctx, signed_up_at=signup, ended_at=None),
        arm=Arm.CONTROL,
        enrolled_at=as_of - 10 * DAY,
        mrr=900,
    )
    other = await _supplier(ctx, signed_up_at=signup, ended_at=None)
    ignored = [
        _run(other, arm=Arm.TREATMENT, enrolled_at=old, mrr=100, key="onboarding_nudge"),
        _run(other, arm=Arm.TREATMENT, enrolled_at=as_of + DAY, mrr=100),  # after as_of
    ]
    opened = {"opened_at": old + DAY}
    messages = [
        _message(t1, 0, "email", DeliveryStatus.SENT, clicked_at=old + DAY, **opened),
        _message(t1, 2, "in_app", DeliveryStatus.SENT, **opened),
        _message(t1, 5, "task", DeliveryStatus.SENT),  # not a message to the supplier
        _message(t2, 0, "email", DeliveryStatus.FAILED),  # handed over, never accepted
        _message(t3, 0, "email", DeliveryStatus.CAPPED),  # never handed over
        _message(c1, 0, "email", DeliveryStatus.SUPPRESSED),
        _message(ignored[0], 0, "email", DeliveryStatus.SENT),
    ]
    async with ctx.db.transaction() as session:
        session.add_all([t1, t2, t3, c1, c2, *ignored])
        await session.flush()
        session.add_all(messages)
    return as_of


async def test_arms_funnel_and_goal(ctx: AppContext, scenario: datetime) -> None:
    async with ctx.db.transaction() as session:
        results = await playbook_results(session=session, playbook_key=KEY, as_of=scenario)
    assert (results.enrolled, results.treated, results.control) == (5, 3, 2)
    funnel = results.funnel
    assert (funnel.runs, funnel.sent, funnel.delivered, funnel.opened, funnel.clicked) == (
        3,
        2,
        1,
        1,
        1,
    )
    assert (funnel.goal_reached, funnel.messages_sent) == (1, 3)
    assert (results.goal.treated, results.goal.control) == (pytest.approx(1 / 3), 0.0)


async def test_retention_counts_only_runs_old_enough_with_the_one_active_rule(
    ctx: AppContext, scenario: datetime
) -> None:
    async with ctx.db.transaction() as session:
        results = await playbook_results(session=session, playbook_key=KEY, as_of=scenario)
    by_days = {h.days: h for h in results.horizons}
    counts = {
        d: (h.treated_retained, h.treated_observed, h.control_retained, h.control_observed)
        for d, h in by_days.items()
    }
    assert counts == {30: (2, 3, 1, 1), 60: (1, 2, 0, 1), 90: (1, 2, 0, 1)}
    for days, (tk, tn, ck, cn) in counts.items():
        d, low, high = newcombe_interval(tk, tn, ck, cn)
        estimate = by_days[days].uplift
        assert estimate.difference == pytest.approx(float(d))
        assert (estimate.low, estimate.high) == (
            pytest.approx(float(low)),
            pytest.approx(float(high)),
        )
        assert estimate.reason is None
    # Save rate: T1 reached its goal and stayed (recovered); T2 left (lost).
    assert by_days[30].treated_save_rate == 0.5
    assert by_days[30].control_save_rate is None  # nobody recovered or lost yet
    assert by_days[60].control_save_rate == 0.0


async def test_money_is_grouped_by_currency(ctx: AppContext, scenario: datetime) -> None:
    async with ctx.db.transaction() as session:
        results = await playbook_results(session=session, playbook_key=KEY, as_of=scenario)
    thirty = results.horizons[0]
    difference = thirty.uplift.difference
    assert difference == pytest.approx(2 / 3 - 1)
    money = {m.currency: m for m in thirty.money}
    assert set(money) == {"EUR", "GBP"}
    gbp, eur = money["GBP"], money["EUR"]
    assert (gbp.treated_mrr_minor, gbp.retained_mrr_minor) == (4500, 3000)
    assert (eur.treated_mrr_minor, eur.retained_mrr_minor) == (2000, 2000)
    assert gbp.incremental_mrr_minor == round(difference * 4500) == -1500
    assert thirty.uplift.low is not None
    assert thirty.uplift.high is not None
    assert eur.incremental_low_minor == round(thirty.uplift.low * 2000)
    assert eur.incremental_high_minor == round(thirty.uplift.high * 2000)


async def test_an_empty_arm_gives_no_interval_and_says_why(ctx: AppContext) -> None:
    as_of = ctx.clock()
    supplier = await _supplier(ctx, signed_up_at=as_of - 200 * DAY, ended_at=None)
    async with ctx.db.transaction() as session:
        session.add(_run(supplier, arm=Arm.TREATMENT, enrolled_at=as_of - 95 * DAY, mrr=10))
    async with ctx.db.transaction() as session:
        results = await playbook_results(session=session, playbook_key=KEY, as_of=as_of)
        nothing = await playbook_results(session=session, playbook_key="nobody", as_of=as_of)
    estimate = results.horizons[2].uplift
    assert results.horizons[2].treated_retention == 1.0
    assert (estimate.difference, estimate.low, estimate.high) == (None, None, None)
    assert estimate.reason == "no control runs observed"
    assert nothing.enrolled == 0
    assert nothing.goal.treated is None
    assert nothing.horizons[0].uplift.reason == "no treated and no control runs observed"
    assert nothing.horizons[0].money == []
