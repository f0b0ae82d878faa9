"""The onboarding band and the shipped playbooks: a new supplier is not rescued for lack of
history, still gets the onboarding nudge, and is rescued once it leaves onboarding critical."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import FakeClock
from tests.interventions.conftest import risk_changed, seed_supplier
from wedsync_success.context import AppContext
from wedsync_success.health.repository import risk_levels
from wedsync_success.interventions.models import PlaybookRun
from wedsync_success.interventions.playbooks import PlaybookFile
from wedsync_success.pipeline import rescore_all


async def _runs(ctx: AppContext) -> list[tuple[str, uuid.UUID]]:
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            select(PlaybookRun.playbook_key, PlaybookRun.supplier_id).order_by(
                PlaybookRun.playbook_key
            )
        )
        return [(key, sid) for key, sid in rows]


async def _rescore(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=ctx.clock().date())
    await ctx.dispatcher.drain()


async def test_an_onboarding_supplier_is_nudged_not_rescued_until_it_leaves_onboarding(
    octx: AppContext, clock: FakeClock
) -> None:
    new = await seed_supplier(octx, signed_up_at=(clock.now - timedelta(days=22)).isoformat())
    await _rescore(octx)
    async with octx.db.sessions() as session:
        assert (await risk_levels(session, [new]))[new] == "onboarding"  # it scores 20
    assert await _runs(octx) == []  # no at-risk rescue for lack of history

    worker = octx.interventions.worker()
    assert await worker.sweep_daily() == 1  # a week in and no form yet: the nudge
    assert await _runs(octx) == [("onboarding_nudge", new)]

    clock.advance(days=8)  # day 30: out of onboarding, and critical
    await _rescore(octx)
    async with octx.db.sessions() as session:
        assert (await risk_levels(session, [new]))[new] == "critical"
    assert await _runs(octx) == [("at_risk_rescue", new), ("onboarding_nudge", new)]


async def test_entering_onboarding_never_starts_a_rescue(octx: AppContext) -> None:
    """A supplier scored critical before the band existed, then onboarding."""
    supplier = await seed_supplier(octx)
    await risk_changed(octx, supplier, to="onboarding", previous="critical")
    assert await _runs(octx) == []
    await risk_changed(octx, supplier, to="critical", previous="onboarding")
    assert await _runs(octx) == [("at_risk_rescue", supplier)]


def test_a_playbook_may_trigger_on_leaving_onboarding() -> None:
    raw = {
        "version": 1,
        "playbooks": [
            {
                "key": "welcome_aboard",
                "name": "Welcome aboard",
                "trigger": {
                    "event": "supplier.risk_level_changed",
                    "when": {"risk_level_left": ["onboarding"]},
                },
                "steps": [{"channel": "email", "template": "onboarding_nudge"}],
            }
        ],
    }
    catalog = PlaybookFile.model_validate(raw)
    assert catalog.playbooks[0].trigger.when.risk_level_left == ["onboarding"]
