"""Milestones: detected once, at the time of the deciding event, announced once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.kit.errors import ConfigError
from wedsync_success.milestones.definitions import load_milestone_catalog


async def _milestone_events(ctx: AppContext) -> list[OutboxEvent]:
    async with ctx.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.event_type == "supplier.milestone_achieved")
            .order_by(OutboxEvent.id)
        )
        return list(rows)


async def test_a_milestone_is_recorded_and_announced_once(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client, signed_up_at=(clock.now - timedelta(days=10)).isoformat())
    first = clock.now - timedelta(days=4)
    await ingest(client, [event(sid, "client_added", first)])
    await ingest(client, [event(sid, "client_added", clock.now - timedelta(days=1))])
    await ingest(client, [event(sid, "client_added", first - timedelta(hours=1))])  # late, earlier

    announced = await _milestone_events(ctx)
    assert [e.payload["milestone"] for e in announced] == ["first_client_added"]
    assert announced[0].payload["days_to_achieve"] == pytest.approx(6.0)

    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    first_client = next(m for m in profile["milestones"] if m["key"] == "first_client_added")
    assert first_client["achieved"] is True
    assert first_client["achieved_at"].startswith(first.date().isoformat())
    ten = next(m for m in profile["milestones"] if m["key"] == "ten_clients")
    assert (ten["achieved"], ten["progress"]) == (False, 0.3)


async def test_count_milestone_is_dated_by_the_nth_event_across_batches(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client, signed_up_at=(clock.now - timedelta(days=30)).isoformat())
    times = [clock.now - timedelta(days=20 - i) for i in range(12)]
    await ingest(client, [event(sid, "client_added", t) for t in times[:6]])
    await ingest(client, [event(sid, "client_added", t) for t in times[6:]])

    keys = [e.payload["milestone"] for e in await _milestone_events(ctx)]
    assert keys == ["first_client_added", "ten_clients"]
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    ten = next(m for m in profile["milestones"] if m["key"] == "ten_clients")
    assert ten["achieved_at"] == times[9].isoformat().replace("+00:00", "Z")
    assert ten["days_to_achieve"] == pytest.approx(19.0)


async def test_all_conditions_milestone_waits_for_the_last_one(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    steps = ["profile_completed", "form_created", "client_added"]
    await ingest(client, [event(sid, s, clock.now - timedelta(days=3)) for s in steps])
    assert "fully_onboarded" not in [e.payload["milestone"] for e in await _milestone_events(ctx)]
    last = clock.now - timedelta(hours=5)
    await ingest(client, [event(sid, "journey_started", last)])
    onboarded = [
        e for e in await _milestone_events(ctx) if e.payload["milestone"] == "fully_onboarded"
    ]
    assert len(onboarded) == 1
    assert onboarded[0].occurred_at == last


async def test_milestone_catalog_reports_rates(client: httpx.AsyncClient, clock: FakeClock) -> None:
    a = await create_supplier(client)
    await create_supplier(client)
    await ingest(client, [event(a, "form_created", clock.now - timedelta(days=2))])
    catalog = {m["key"]: m for m in (await client.get("/api/v1/milestones")).json()}
    assert catalog["first_form_created"]["achieved"] == 1
    assert catalog["first_form_created"]["achievement_rate"] == 0.5
    assert catalog["ten_clients"]["conditions"] == [
        {"event_type": "client_added", "min_count": 10, "properties": {}}
    ]
    assert catalog["ten_clients"]["achieved"] == 0


def test_bad_definitions_file_names_the_field(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "milestones.yaml"
    path.write_text(
        "version: 1\nmilestones:\n  - key: x1\n    name: X\n    conditions:\n"
        "      - {event_type: login, min_count: 0}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_milestone_catalog(path)
    assert err.value.details[0]["field"] == "milestones.0.conditions.0.min_count"


def test_duplicate_milestone_keys_are_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "milestones.yaml"
    one = "  - key: same\n    name: A\n    conditions: [{event_type: login}]\n"
    path.write_text("version: 1\nmilestones:\n" + one + one)
    with pytest.raises(ConfigError, match="does not match"):
        load_milestone_catalog(path)


async def test_property_filtered_condition_counts_only_matching_events(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    sid = await create_supplier(client)
    charge = {"amount": 4900, "kind": "subscription"}
    await ingest(
        client, [event(sid, "payment_received", clock.now - timedelta(days=5), properties=charge)]
    )
    profile = (await client.get(f"/api/v1/suppliers/{sid}")).json()
    paid = next(m for m in profile["milestones"] if m["key"] == "first_payment_received")
    assert (paid["achieved"], paid["progress"]) == (False, 0.0)

    client_paid = clock.now - timedelta(days=1)
    await ingest(
        client,
        [
            event(
                sid,
                "payment_received",
                client_paid,
                properties={"amount": 120000, "kind": "client_invoice"},
            ),
            event(sid, "payment_received", clock.now - timedelta(hours=1), properties=charge),
        ],
    )
    achieved = [
        e
        for e in await _milestone_events(ctx)
        if e.payload["milestone"] == "first_payment_received"
    ]
    assert len(achieved) == 1
    assert achieved[0].occurred_at == client_paid
