"""The synthetic population's latent response to outreach: a known, decaying effect that the
playbook results recover from the loaded data."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from wedsync_success.context import AppContext
from wedsync_success.interventions.models import Arm, Intervention, PlaybookRun
from wedsync_success.interventions.results import playbook_results
from wedsync_success.synthetic import Population, generate_population
from wedsync_success.synthetic.loader import load_outreach, load_suppliers
from wedsync_success.synthetic.outreach import OutreachConfig

END = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
NO_ONE_TREATED = OutreachConfig(holdout=1.0)


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(suppliers=4000, months=18, seed=11, end=END)


async def test_results_recover_the_true_effect_within_the_interval(
    ctx: AppContext, population: Population
) -> None:
    await load_suppliers(ctx, population, progress=lambda *_: None)
    await load_outreach(ctx, population)
    async with ctx.db.transaction() as session:
        results = await playbook_results(
            session=session, playbook_key="at_risk_rescue", as_of=population.end
        )
    assert results.enrolled == len(population.outreach)
    for horizon in results.horizons:
        truth = population.outreach_truth.retention_difference(
            days=horizon.days, as_of=population.end
        )
        estimate = horizon.uplift
        assert truth is not None
        assert estimate.low is not None
        assert estimate.high is not None
        assert estimate.low <= truth <= estimate.high, (horizon.days, truth, estimate)
    truth_90 = population.outreach_truth.retention_difference(days=90, as_of=population.end)
    assert truth_90 is not None
    assert truth_90 > 0.03  # a real effect to recover, not a null one
    assert results.goal.treated is not None
    assert results.goal.control is not None
    assert results.goal.treated > results.goal.control
    assert results.funnel.sent == results.funnel.delivered > results.funnel.opened > 0


async def test_control_runs_get_no_messages(ctx: AppContext, population: Population) -> None:
    outreach = population.outreach
    assert outreach.message_id
    assert not outreach.control[outreach.message_run].any()
    await load_suppliers(ctx, population, progress=lambda *_: None)
    await load_outreach(ctx, population)
    async with ctx.db.sessions() as session:
        to_control = await session.scalar(
            select(func.count())
            .select_from(Intervention)
            .join(PlaybookRun, PlaybookRun.id == Intervention.run_id)
            .where(PlaybookRun.arm == Arm.CONTROL)
        )
    assert to_control == 0


def test_arm_is_drawn_once_per_supplier_with_the_holdout_share(population: Population) -> None:
    outreach = population.outreach
    arms: dict[int, set[bool]] = {}
    for supplier, control in zip(
        outreach.supplier_index.tolist(), outreach.control.tolist(), strict=True
    ):
        arms.setdefault(supplier, set()).add(control)
    assert all(len(a) == 1 for a in arms.values())
    share = np.mean([a.pop() for a in arms.values()])
    # 0.2 holdout over ~1,100 enrolled suppliers: a binomial sd of 0.012.
    assert share == pytest.approx(OutreachConfig().holdout, abs=0.04)


def test_runs_respect_the_reenrolment_window(population: Population) -> None:
    outreach = population.outreach
    order = np.lexsort((outreach.enrolled_sec, outreach.supplier_index))
    same = np.diff(outreach.supplier_index[order]) == 0
    gaps = np.diff(outreach.enrolled_sec[order])[same]
    assert gaps.size  # some suppliers were enrolled more than once
    assert gaps.min() >= (OutreachConfig().reenrol_after_days - 1) * 86_400


def test_opens_and_clicks_follow_the_response(population: Population) -> None:
    outreach, never = population.outreach, population.outreach_truth.never
    archetype = np.array([population.truth[i].archetype for i in outreach.supplier_index])
    email = outreach.message_channel == "email"
    by_archetype = archetype[outreach.message_run[email]]
    opened = outreach.opened_sec[email] < never
    assert opened[by_archetype == "declining"].mean() > opened[by_archetype == "dormant"].mean()


def test_outreach_only_changes_treated_suppliers() -> None:
    """Everyone else keeps their subscription exactly; their events keep their distribution
    (a group's activity draws share one stream, so treated suppliers' changed activity
    reshuffles, but does not change, the others' draws)."""
    kwargs = {"suppliers": 1000, "months": 12, "seed": 3, "end": END}
    treated_world = generate_population(**kwargs)
    untreated_world = generate_population(**kwargs, outreach=NO_ONE_TREATED)
    runs = treated_world.outreach
    treated = set(runs.supplier_index[~runs.control].tolist())
    assert treated
    assert len(untreated_world.outreach) == len(runs)  # the same enrolments, all control
    assert untreated_world.outreach.message_id == []
    others = set(range(1000)) - treated
    for i in range(1000):
        a, b = treated_world.suppliers[i], untreated_world.suppliers[i]
        if i in others:
            assert a == b
            assert treated_world.truth[i] == untreated_world.truth[i]
        elif b.subscription_ended_at is not None:  # outreach only ever delays a departure
            assert (
                a.subscription_ended_at is None
                or a.subscription_ended_at >= b.subscription_ended_at
            )

    def by_type(world: Population) -> Counter[str]:
        e = world.events
        keep = np.isin(e.supplier_index, sorted(others))
        return Counter(e.event_type[keep].tolist())

    with_outreach, without = by_type(treated_world), by_type(untreated_world)
    for event_type, count in without.items():
        if count >= 1000:
            assert with_outreach[event_type] == pytest.approx(count, rel=0.05), event_type


def test_the_effect_decays_with_its_half_life() -> None:
    kwargs = {"suppliers": 1500, "months": 12, "seed": 4, "end": END}
    lasting = generate_population(**kwargs).outreach_truth
    brief = generate_population(**kwargs, outreach=OutreachConfig(half_life_days=2.0))
    gone = generate_population(**kwargs, outreach=NO_ONE_TREATED).outreach_truth
    long_effect = lasting.retention_difference(days=90, as_of=END)
    short_effect = brief.outreach_truth.retention_difference(days=90, as_of=END)
    assert long_effect is not None
    assert short_effect is not None
    assert long_effect > short_effect > 0
    # Control suppliers' potential outcomes are resolved too: the truth is a property of the
    # world, not of who happened to be treated.
    assert gone.retention_difference(days=90, as_of=END) == pytest.approx(long_effect)
