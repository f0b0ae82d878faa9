"""Detection's statement is built once per milestone definition and reused: a changed
definition (same key, other conditions) gets its own, and a reused one reads the rows as they
are now."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.milestones import repository
from wedsync_success.milestones.definitions import Condition, MilestoneDefinition


def _clients(at_least: int) -> MilestoneDefinition:
    return MilestoneDefinition(
        key="clients_probe",
        name="Clients",
        conditions=[Condition(event_type="client_added", min_count=at_least)],
    )


async def test_a_changed_definition_is_not_served_the_old_statement(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    ids = [uuid.UUID(sid)]
    earlier = clock.now - timedelta(hours=2)
    await ingest(
        client, [event(sid, "client_added", earlier + timedelta(minutes=m)) for m in (1, 2)]
    )

    async def met(definition: MilestoneDefinition, supplier_ids: list[uuid.UUID] | None) -> bool:
        async with ctx.db.sessions() as session:
            rows = await repository.newly_met(session, definition, supplier_ids)
        return uuid.UUID(sid) in {row[0] for row in rows}

    assert await met(_clients(2), ids)
    assert not await met(_clients(3), ids)  # same key, another count: another statement
    assert not await met(_clients(3), None)  # over everyone: the other shape
    await ingest(client, [event(sid, "client_added", clock.now)])
    hits = repository._newly_met_statement.cache_info().hits
    assert await met(_clients(3), ids)  # the cached statement sees the third event
    assert repository._newly_met_statement.cache_info().hits == hits + 1
    assert not await met(_clients(3), [uuid.uuid4()])  # the ids are bound, not kept
