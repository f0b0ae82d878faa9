"""The profile's statement is built once per shape and reused: it must hold no data and no
condition of another shape."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.milestones.definitions import Condition
from wedsync_success.suppliers import profile_repository
from wedsync_success.suppliers.profile_repository import profile_rows


def _forms(kind: str) -> list[tuple[tuple[str, int], Condition]]:
    return [(("forms", 0), Condition(event_type="form_created", properties={"kind": kind}))]


async def test_a_reused_statement_reads_the_rows_as_they_are_now(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client, external_id="cus_statement_1")
    earlier = clock.now - timedelta(hours=1)
    await ingest(client, [event(sid, "form_created", earlier, properties={"kind": "contract"})])

    async def read(kind: str) -> tuple[int, int]:
        async with ctx.db.sessions() as session:
            rows = await profile_rows(
                session,
                as_id=None,
                external_id="cus_statement_1",
                conditions=_forms(kind),
                event_limit=10,
                response_limit=10,
            )
        assert rows is not None
        return rows.matching[("forms", 0)], len(rows.recent_events)

    async with ctx.db.sessions() as session:  # by id: the other shape
        by_id = await profile_rows(
            session,
            as_id=uuid.UUID(sid),
            external_id=sid,
            conditions=_forms("contract"),
            event_limit=10,
            response_limit=10,
        )
    assert by_id is not None
    assert by_id.matching[("forms", 0)] == 1
    assert await read("contract") == (1, 1)
    built = profile_repository._profile_statement.cache_info().currsize
    assert await read("quote") == (0, 1)  # another filter: another statement, not the first's
    assert profile_repository._profile_statement.cache_info().currsize == built + 1
    await ingest(client, [event(sid, "form_created", clock.now, properties={"kind": "contract"})])
    hits = profile_repository._profile_statement.cache_info().hits
    assert await read("contract") == (2, 2)  # the same statement sees the new event
    assert profile_repository._profile_statement.cache_info().hits == hits + 1
