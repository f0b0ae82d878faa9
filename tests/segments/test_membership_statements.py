"""A segment's membership statements are built once per rule and reused: each evaluation
binds its own moment and suppliers, and a changed rule (same key) gets statements of its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.segments import repository, service
from wedsync_success.segments.rules import Rule

KEY = "statement_probe"


async def test_a_reused_statement_judges_each_moment_and_a_changed_rule_its_own(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    signed = clock.now - timedelta(days=20)
    sid = uuid.UUID(
        await create_supplier(
            client, signed_up_at=signed.isoformat(), subscription_started_at=signed.isoformat()
        )
    )
    await ingest(client, [event(str(sid), "login", clock.now - timedelta(days=3))])

    async def apply(rule: dict[str, object], days_later: int) -> repository.Changes:
        moment = service.moment_of(clock.now + timedelta(days=days_later))
        async with ctx.db.transaction() as session:
            return await repository.apply_segment(
                session,
                key=KEY,
                rule=Rule.model_validate(rule),
                moment=moment,
                supplier_ids=[sid],
            )

    tenure = {"field": "tenure_days", "op": "gte", "value": 30}
    assert (await apply(tenure, 0)).entered == []  # 20 days in
    hits = repository._membership_statements.cache_info().hits
    assert (await apply(tenure, 10)).entered == [sid]  # 30 days in: the moment is bound
    assert repository._membership_statements.cache_info().hits == hits + 1
    longer = {"field": "tenure_days", "op": "gte", "value": 60}
    assert (await apply(longer, 10)).exited == [sid]  # same key, another rule: its own
    recent = {"field": "activity.login", "op": "gte", "value": 1, "days": 7}
    assert (await apply(recent, 0)).entered == [sid]  # the login 3 days back is in 7 days
    assert (await apply(recent, 5)).exited == [sid]  # 8 days back by then: the day is bound
