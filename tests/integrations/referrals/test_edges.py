"""Referral edges kept from activity as it lands: what an edge says, idempotent on replay,
hostile properties refused naming the field, concurrent writers on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.context import AppContext
from wedsync_success.integrations.referrals.models import ReferralEdge
from wedsync_success.integrations.referrals.service import fold_batch
from wedsync_success.web.app import create_app


async def _edges(ctx: AppContext) -> list[tuple[Any, ...]]:
    async with ctx.db.transaction() as session:
        rows = await session.execute(
            select(
                ReferralEdge.referrer_id,
                ReferralEdge.referee_key,
                ReferralEdge.referee_supplier_id,
                ReferralEdge.sent_at,
                ReferralEdge.converted_at,
            ).order_by(ReferralEdge.referrer_id, ReferralEdge.referee_key)
        )
        return [tuple(r) for r in rows]


async def test_sent_then_converted_is_one_edge_naming_the_referee(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    referrer, referee = await create_supplier(client), await create_supplier(client)
    sent_at, joined_at = clock.now - timedelta(days=9), clock.now - timedelta(days=2)
    await ingest(
        client,
        [
            event(
                referrer, "referral_sent", sent_at, properties={"referred": "Ann@Flowers.example"}
            ),
            event(
                referrer,
                "referral_sent",
                clock.now - timedelta(days=1),
                properties={"referred": "bob@cakes.example"},
            ),
        ],
    )
    await ingest(
        client,
        [
            event(
                referrer,
                "referral_converted",
                joined_at,
                properties={"referred": " ann@flowers.example", "referred_supplier_id": referee},
            ),
        ],
    )
    edges = await _edges(ctx)
    assert [(e[1], e[2], e[3], e[4]) for e in edges] == [
        ("ann@flowers.example", uuid.UUID(referee), sent_at, joined_at),  # keys fold case
        ("bob@cakes.example", None, clock.now - timedelta(days=1), None),
    ]
    assert {e[0] for e in edges} == {uuid.UUID(referrer)}


async def test_a_conversion_naming_only_the_supplier_is_keyed_by_it(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    referrer, referee = await create_supplier(client), await create_supplier(client)
    upper = referee.upper()
    await ingest(
        client,
        [
            event(
                referrer,
                "referral_converted",
                clock.now,
                properties={"referred_supplier_id": upper},
            )
        ],
    )
    assert [(e[1], e[2]) for e in await _edges(ctx)] == [(referee, uuid.UUID(referee))]


async def test_replaying_and_rebuilding_change_nothing(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    referrer, referee = await create_supplier(client), await create_supplier(client)
    batch = [
        event(
            referrer,
            "referral_sent",
            clock.now - timedelta(days=5),
            properties={"referred": "x@y.example"},
        ),
        event(
            referrer,
            "referral_converted",
            clock.now - timedelta(days=1),
            properties={"referred": "x@y.example", "referred_supplier_id": referee},
        ),
    ]
    await ingest(client, batch)
    first = await _edges(ctx)
    replay = await ingest(client, batch)
    assert replay["duplicates"] == 2
    # a later event about the same referral, sent earlier than the first: the earliest wins
    await ingest(
        client,
        [
            event(
                referrer,
                "referral_sent",
                clock.now - timedelta(days=7),
                properties={"referred": "X@y.example"},
            )
        ],
    )
    earlier = await _edges(ctx)
    assert earlier[0][3] == clock.now - timedelta(days=7)
    assert earlier[0][4] == first[0][4]
    async with ctx.db.transaction() as session:
        await fold_batch(session=session, batch_id=None)  # a rebuild from every stored event
    assert await _edges(ctx) == earlier
    assert len(earlier) == 1


HOSTILE_REFERRED = st.one_of(
    st.just(""),
    st.just("   "),
    st.text(min_size=255, max_size=300, alphabet="ab"),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.booleans(),
)
HOSTILE_SUPPLIER = st.one_of(
    st.text(max_size=40).filter(lambda t: not _is_canonical_uuid(t)),
    st.uuids().map(lambda u: u.hex),  # not the canonical form
    st.uuids().map(lambda u: "{" + str(u) + "}"),
    st.integers(),
    st.just(""),
)


def _is_canonical_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.sampled_from(["referred", "referred_supplier_id"]),
    data=st.data(),
)
async def test_hostile_referral_properties_are_refused_naming_the_field(
    client: httpx.AsyncClient, clock: FakeClock, field: str, data: st.DataObject
) -> None:
    value = data.draw(HOSTILE_REFERRED if field == "referred" else HOSTILE_SUPPLIER, label=field)
    sid = await create_supplier(client)
    good = event(sid, "referral_sent", clock.now, properties={"referred": "fine@x.example"})
    bad = event(sid, "referral_converted", clock.now, properties={field: value})
    response = await client.post("/api/v1/events", json={"events": [good, bad]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)  # the bad item alone is refused
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, f"properties.{field}")]


WRITERS = 8


async def test_concurrent_ingest_of_the_same_referrals_keeps_one_edge_each(
    ctx: AppContext, api_keys: dict[str, str], client: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Writers at once (PostgreSQL runs them in parallel; SQLite one after the other), the
    same referrals in overlapping batches in different orders: every write succeeds and each
    edge holds the earliest times any writer saw."""
    referrers = [await create_supplier(client) for _ in range(4)]
    referees = [await create_supplier(client) for _ in range(4)]
    app = create_app(context=ctx, run_dispatcher=False)
    writers = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {api_keys['admin']}"},
        )
        for _ in range(WRITERS)
    ]

    def batch(w: int) -> list[dict[str, Any]]:
        out = []
        for r, referrer in enumerate(referrers):
            for k, referee in enumerate(referees):
                at = clock.now - timedelta(days=1 + (w + r + k) % WRITERS)
                out.append(event(referrer, "referral_sent", at, properties={"referred": f"k{k}"}))
                out.append(
                    event(
                        referrer,
                        "referral_converted",
                        at + timedelta(hours=1),
                        properties={"referred": f"k{k}", "referred_supplier_id": referee},
                    )
                )
        return out[w % 3 :] + out[: w % 3]

    try:
        results = await asyncio.gather(
            *(c.post("/api/v1/events", json={"events": batch(w)}) for w, c in enumerate(writers))
        )
    finally:
        for c in writers:
            await c.aclose()
    assert [r.status_code for r in results] == [200] * WRITERS
    edges = await _edges(ctx)
    assert len(edges) == len(referrers) * len(referees)
    earliest = clock.now - timedelta(days=WRITERS)
    assert {e[3] for e in edges} == {earliest}
    assert {e[4] for e in edges} == {earliest + timedelta(hours=1)}
    assert {(str(e[0]), e[2]) for e in edges} == {
        (r, uuid.UUID(referees[int(e[1][1:])])) for r in referrers for e in edges if str(e[0]) == r
    }
