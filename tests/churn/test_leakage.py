"""No leakage: features at a cutoff never change when later events arrive, on both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
import numpy as np

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.churn.features import PLAN_VOCABULARY, compute_features
from wedsync_success.churn.generic import EventFeatures
from wedsync_success.churn.service import feature_spec
from wedsync_success.context import AppContext
from wedsync_success.pipeline import rescore_all

VOCABULARY = EventFeatures(
    event_types=("login", "client_added", "support_ticket_opened", "payment_failed"),
    pairs=(("client_added", "login"),),
)
"""Generic features too: the later events include every one of these types."""


def _history(sid: str, start: datetime, days: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for d in range(0, days, 2):
        at = start + timedelta(days=d, hours=10)
        events.append(event(sid, "login", at))
        if d % 6 == 0:
            events.append(event(sid, "client_added", at + timedelta(minutes=5)))
        if d % 10 == 0:
            events.append(event(sid, "feature_used", at, properties={"feature": "calendar"}))
    events.append(event(sid, "profile_completed", start + timedelta(hours=2)))
    events.append(
        event(
            sid,
            "payment_failed",
            start + timedelta(days=20),
            properties={"amount": 1900, "currency": "GBP", "kind": "subscription"},
        )
    )
    return events


def _after(sid: str, cutoff: datetime) -> list[dict[str, object]]:
    """Everything that could leak: activity, failures, milestones, a plan change, churn."""
    events: list[dict[str, object]] = []
    for d in range(12):
        at = cutoff + timedelta(days=d, hours=9)
        events.append(event(sid, "login", at))
        events.append(event(sid, "client_added", at))  # reaches ten_clients after the cutoff
        events.append(event(sid, "support_ticket_opened", at))
    events.append(
        event(
            sid,
            "payment_failed",
            cutoff + timedelta(days=1),
            properties={"amount": 1900, "currency": "GBP", "kind": "subscription"},
        )
    )
    events.append(
        event(
            sid,
            "subscription_changed",
            cutoff + timedelta(days=2),
            properties={"from_plan": "professional", "to_plan": "starter", "plan_tier": "starter"},
        )
    )
    events.append(event(sid, "journey_started", cutoff + timedelta(seconds=1)))
    return events


async def test_features_at_a_cutoff_ignore_later_events(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    start = clock.now - timedelta(days=150)
    as_of = date(2026, 5, 1)
    cutoff = datetime(2026, 5, 2, tzinfo=start.tzinfo)
    ids = [
        await create_supplier(client, signed_up_at=start.isoformat(), plan_tier="professional")
        for _ in range(3)
    ]
    for sid in ids:
        await ingest(
            client, [e for e in _history(sid, start, 140) if e["occurred_at"] < cutoff.isoformat()]
        )
    spec = feature_spec(ctx, VOCABULARY)
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=as_of)
    async with ctx.db.sessions() as session:
        before = await compute_features(session, spec=spec, as_of=as_of)
    assert len(before) == 3
    assert before.column("logins_30d").sum() > 0
    assert np.all(before.column("plan") == PLAN_VOCABULARY.index("professional"))

    for sid in ids:
        await ingest(client, _after(sid, cutoff))
    cancelled = event(ids[0], "subscription_cancelled", cutoff + timedelta(days=5))
    cancelled["properties"] = {"reason": "too expensive"}
    await ingest(client, [cancelled])
    async with ctx.db.transaction() as session:
        await rescore_all(session=session, ctx=ctx, as_of=clock.now.date())
    async with ctx.db.sessions() as session:
        after = await compute_features(session, spec=spec, as_of=as_of)
        later = await compute_features(
            session, spec=spec, as_of=(cutoff + timedelta(days=20)).date()
        )

    assert after.supplier_ids == before.supplier_ids
    np.testing.assert_array_equal(after.matrix, before.matrix)
    # ...while the later cutoff does see them (the test would pass vacuously otherwise)
    assert later.column("tickets_30d").sum() > 0
    assert later.column("ev__support_ticket_opened__28d").sum() > 0
    assert len(later) == 2  # the cancelled supplier is no longer eligible
    assert np.all(later.column("plan") == PLAN_VOCABULARY.index("starter"))


async def test_single_supplier_features_equal_the_batch_row(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    start = clock.now - timedelta(days=100)
    ids = [await create_supplier(client, signed_up_at=start.isoformat()) for _ in range(2)]
    for sid in ids:
        await ingest(client, _history(sid, start, 90))
    spec = feature_spec(ctx, VOCABULARY)
    async with ctx.db.sessions() as session:
        batch = await compute_features(session, spec=spec, as_of=clock.now.date())
        for i, sid in enumerate(batch.supplier_ids):
            one = await compute_features(
                session, spec=spec, as_of=clock.now.date(), supplier_ids=[sid]
            )
            np.testing.assert_array_equal(one.matrix[0], batch.matrix[i])
