"""The demo's bulk loader stores exactly what the real ingestion path would.

A small population is seeded twice on each backend: once as the demo did before (every event
through ``pipeline.ingest`` in API-sized batches, then ``rescore_all`` on each history day)
and once by ``demo.seed`` (bulk columns, milestones detected once). Every table must then
hold the same rows, the ids that are random by design aside.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from wedsync_success import demo
from wedsync_success.activity.models import ActivityEvent
from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.context import AppContext, build_context
from wedsync_success.db.registry import metadata
from wedsync_success.pipeline import ingest, rescore_all
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.synthetic import Population, generate_population
from wedsync_success.synthetic.loader import load_outreach, supplier_items

RANDOM_BY_DESIGN = {
    "activity_events": {"batch_id", "type_code"},  # a per-transaction tag; the type's
    # code is its number of arrival, so the type is compared by name (NAMED)
    "outbox_events": {"id", "event_id"},
    "consumer_receipts": {"event_id"},
    "subscription_periods": {"id"},  # a row number: the two paths insert in another order
    "activity_batches": {"id"},
    "event_types": {"code"},  # numbered in the order the types first arrive
    "survey_responses": {"id"},
}
NAMED: dict[str, list[Any]] = {"activity_events": [ActivityEvent.event_type]}
PER_TRANSACTION = {"activity_batches"}
"""Tables with a row per transaction, which the two paths cut differently: compared as the
set of their distinct rows (the ingestion times)."""


async def _through_ingest(ctx: AppContext, population: Population) -> None:
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        await upsert_batch(
            session=session, items=supplier_items(population, 0, len(population.suppliers)), now=now
        )
    events = population.events
    for start in range(0, len(events), 500):
        async with ctx.db.transaction() as session:
            result = await ingest(
                session=session,
                ctx=ctx,
                items=events.records(start, start + 500, population.suppliers),
                rescore=False,
            )
        assert result.rejected == 0, result.errors
    await load_outreach(ctx, population)  # no API path: the simulated playbook history
    await demo.load_surveys(ctx, population)  # the responses service: the API's own path
    await ctx.db.refresh_statistics()
    for day in demo.history_days(population.end.date()):
        async with ctx.db.transaction() as session:
            await rescore_all(session=session, ctx=ctx, as_of=day)
    await ctx.dispatcher.drain()


async def _snapshot(ctx: AppContext) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, without the columns that are random by design."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with ctx.db.sessions() as session:
        for table in metadata.sorted_tables:
            skip = RANDOM_BY_DESIGN.get(table.name, set())
            columns: list[Any] = [c for c in table.c if c.name not in skip]
            columns += NAMED.get(table.name, [])
            rows = (await session.execute(select(*columns).select_from(table))).all()
            unique = table.name in PER_TRANSACTION
            found = {tuple(row) for row in rows} if unique else (tuple(row) for row in rows)
            tables[table.name] = sorted(found, key=repr)
    return tables


async def _empty(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())


@pytest.fixture
async def quiet_ctx(ctx: AppContext, tmp_path: Path) -> AsyncIterator[AppContext]:
    """``ctx`` with every playbook and the CSAT after a ticket switched off: the comparison
    is of what the two paths load (both announce the closed tickets), and live enrolments
    while they rescore draw their arms at random, surveys their ids."""
    data = yaml.safe_load((DEFAULTS_DIR / "playbooks.yaml").read_text(encoding="utf-8"))
    for playbook in data["playbooks"]:
        playbook["enabled"] = False
    path = tmp_path / "playbooks.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    quiet = build_context(
        ctx.settings.model_copy(
            update={"playbooks_config": path, "survey_csat_after_ticket": False}
        ),
        clock=ctx.clock,
    )
    try:
        yield quiet
    finally:
        await quiet.close()


async def test_bulk_seed_equals_the_ingestion_path(quiet_ctx: AppContext) -> None:
    ctx = quiet_ctx
    population = generate_population(suppliers=40, months=8, seed=5, end=ctx.clock())
    types = set(population.events.event_type.tolist())
    assert {"subscription_cancelled", "subscription_changed", "payment_received"} <= types

    await _through_ingest(ctx, population)
    expected = await _snapshot(ctx)
    await _empty(ctx)

    stages: list[str] = []
    summary = await demo.seed(
        ctx, population, progress=lambda stage, *_: stages.append(stage), chunk=1000
    )
    loaded = await _snapshot(ctx)

    assert summary.events_stored == len(population.events)
    assert len(loaded["activity_events"]) == len(population.events)
    assert len(loaded["playbook_runs"]) == len(population.outreach)
    assert len(loaded["interventions"]) == len(population.outreach.message_id)
    for name in (
        "daily_rollups",
        "supplier_event_totals",
        "milestone_achievements",
        "playbook_runs",
        "interventions",
        "survey_responses",
    ):
        assert loaded[name], f"{name} is empty: the comparison would prove nothing"
    assert {"suppliers", "events", "surveys", "history", "delivering"} <= set(stages)
    for name, rows in expected.items():
        assert loaded[name] == rows, f"{name} differs"
