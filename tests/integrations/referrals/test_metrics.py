"""Network metrics: a hand-built graph's figures known by hand (on each database), and the
SciPy implementation held to networkx's on random graphs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_SECRET_KEY, FakeClock, postgres_database
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.access.service import create_key
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db import migrate
from wedsync_success.integrations.referrals import graph, repository
from wedsync_success.integrations.referrals.models import ReferralEdge, ReferralMetric
from wedsync_success.integrations.referrals.service import (
    SuperConnectorRule,
    compute,
    hex_ids,
    node_numbers,
)
from wedsync_success.web.app import create_app

NAMES = "ABCDEFG"


async def _hand_built(client: httpx.AsyncClient, clock: FakeClock) -> dict[str, str]:
    """A -> B (twice, by email and by id), A -> C, B -> D, D -> A (a cycle), C -> E, F -> E,
    G -> G (a self-referral); A also has one pending referral and one converted to a supplier
    that is not known here."""
    ids = {name: await create_supplier(client) for name in NAMES}
    at = clock.now - timedelta(days=3)

    def converted(referrer: str, key: str, referee: str) -> dict[str, object]:
        props = {"referred": key, "referred_supplier_id": referee}
        return event(ids[referrer], "referral_converted", at, properties=props)

    await ingest(
        client,
        [
            converted("A", "b@x.example", ids["B"]),
            event(
                ids["A"], "referral_converted", at, properties={"referred_supplier_id": ids["B"]}
            ),
            converted("A", "c@x.example", ids["C"]),
            event(ids["A"], "referral_sent", at, properties={"referred": "pending@x.example"}),
            converted("A", "gone@x.example", str(uuid.uuid4())),
            converted("B", "d@x.example", ids["D"]),
            converted("D", "a@x.example", ids["A"]),
            converted("C", "e@x.example", ids["E"]),
            converted("F", "e2@x.example", ids["E"]),
            converted("G", "g@x.example", ids["G"]),
        ],
    )
    return ids


async def test_the_hand_built_network_has_the_figures_worked_out_by_hand(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _hand_built(client, clock)
    rule = SuperConnectorRule(top_share=0.3, min_converted=2)
    async with ctx.db.transaction() as session:
        summary = await compute(session=session, rule=rule, now=clock.now)
    assert (summary.suppliers, summary.edges, summary.network_edges) == (7, 10, 6)
    async with ctx.db.transaction() as session:
        rows = {n: await repository.metrics_of(session, uuid.UUID(ids[n])) for n in NAMES}
    got = {
        n: (m.sent, m.converted, m.out_degree, m.in_degree, m.reach, m.core)
        for n, m in rows.items()
        if m is not None
    }
    assert got == {
        "A": (5, 4, 2, 1, 4, 2),  # B and C (one edge to B), reaches B, C, D, E; triangle ABD
        "B": (1, 1, 1, 1, 4, 2),  # through D back to A: D, A, C, E (never itself)
        "C": (1, 1, 1, 1, 1, 1),
        "D": (1, 1, 1, 1, 4, 2),
        "E": (0, 0, 0, 2, 0, 1),
        "F": (1, 1, 1, 0, 1, 1),
        "G": (1, 1, 0, 0, 0, 0),  # a self-referral is no edge
    }
    ranks = {n: m.pagerank for n, m in rows.items() if m is not None}
    assert sum(ranks.values()) == pytest.approx(1.0)
    reference = _networkx_pagerank(7, [(0, 1), (0, 2), (1, 3), (3, 0), (2, 4), (5, 4)])
    assert [ranks[n] for n in NAMES] == pytest.approx(reference, abs=1e-8)
    # top 30 % (3 of 7) by PageRank with at least 2 conversions: only A
    assert {n for n, m in rows.items() if m is not None and m.super_connector} == {"A"}
    assert summary.super_connectors == 1


async def test_recomputing_replaces_the_network(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _hand_built(client, clock)
    rule = SuperConnectorRule(top_share=1.0, min_converted=1)
    async with ctx.db.transaction() as session:
        await compute(session=session, rule=rule, now=clock.now)
        first = await repository.network_size(session)
        again = await compute(session=session, rule=rule, now=clock.now)
        assert await repository.network_size(session) == first == again.suppliers == 7
        g = await repository.metrics_of(session, uuid.UUID(ids["G"]))
        assert g is not None
        assert g.super_connector


def _networkx_pagerank(n: int, edges: list[tuple[int, int]]) -> list[float]:
    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    ranks = nx.pagerank(g.reverse(), alpha=graph.DAMPING, tol=1e-12, max_iter=10_000)
    return [ranks[i] for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    data=st.data(),
)
def test_scipy_metrics_agree_with_networkx(n: int, data: st.DataObject) -> None:
    pairs = data.draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        label="edges",
    )
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    found = graph.metrics(n, src, dst)
    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((a, b) for a, b in pairs if a != b)  # the simple graph
    assert found.out_degree.tolist() == [g.out_degree(i) for i in range(n)]
    assert found.in_degree.tolist() == [g.in_degree(i) for i in range(n)]
    assert found.reach.tolist() == [len(nx.descendants(g, i)) for i in range(n)]
    cores = nx.core_number(g.to_undirected())
    assert found.core.tolist() == [cores[i] for i in range(n)]
    reference = _networkx_pagerank(n, list(g.edges()))
    assert found.pagerank.tolist() == pytest.approx(reference, abs=1e-8)


def test_super_connectors_follow_the_stated_rule() -> None:
    ranks = np.array([0.4, 0.3, 0.2, 0.1])
    converted = np.array([1, 5, 5, 5])
    # top half by PageRank is nodes 0 and 1; node 0 has too few conversions
    picked = graph.super_connectors(ranks, converted, top_share=0.5, min_converted=3)
    assert picked.tolist() == [False, True, False, False]
    # a tiny share still picks the single best node
    assert graph.super_connectors(ranks, converted, top_share=0.01, min_converted=1).tolist() == [
        True,
        False,
        False,
        False,
    ]


def test_node_numbers_keep_ids_ending_in_zero_bytes() -> None:
    """A UUID whose last bytes are zero is still itself (NumPy's ``S16`` would trim it)."""
    low = uuid.UUID(int=5 << 8)
    other = uuid.UUID("ffffffff-0000-4000-8000-000000000000")
    values = np.frombuffer(b"".join(u.bytes for u in (other, low, other)), dtype="V16")
    ids, numbers = node_numbers(values)
    assert [uuid.UUID(bytes=b) for b in ids.tolist()] == [low, other]
    assert hex_ids(ids) == [low.hex, other.hex]
    assert numbers.tolist() == [1, 0, 1]
    assert node_numbers(np.zeros(0, dtype="V16"))[0].size == 0


async def test_a_recompute_writes_only_the_rows_whose_figures_changed(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _hand_built(client, clock)
    rule = SuperConnectorRule(top_share=0.3, min_converted=2)
    first_at = clock.now
    async with ctx.db.transaction() as session:
        assert (await compute(session=session, rule=rule, now=first_at)).written == 7
    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        assert (await compute(session=session, rule=rule, now=clock.now)).written == 0
        stamps = {n: await _computed_at(session, ids[n]) for n in NAMES}
    assert set(stamps.values()) == {first_at}  # not one row was written again
    # a pending referral moves only G's `sent`: the graph, and so every PageRank, stays
    clock.advance(hours=1)
    await ingest(
        client, [event(ids["G"], "referral_sent", clock.now, properties={"referred": "new@x.y"})]
    )
    async with ctx.db.transaction() as session:
        assert (await compute(session=session, rule=rule, now=clock.now)).written == 1
        g = await repository.metrics_of(session, uuid.UUID(ids["G"]))
        assert g is not None
        assert (g.sent, g.computed_at) == (2, clock.now)
        assert await _computed_at(session, ids["A"]) == first_at


async def test_a_supplier_that_left_the_network_loses_its_row(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    ids = await _hand_built(client, clock)
    rule = SuperConnectorRule(top_share=0.3, min_converted=2)
    async with ctx.db.transaction() as session:
        await compute(session=session, rule=rule, now=clock.now)
        # G's only edge (its self-referral) goes: G is in the network no more
        await session.execute(
            delete(ReferralEdge).where(ReferralEdge.referrer_id == uuid.UUID(ids["G"]))
        )
        summary = await compute(session=session, rule=rule, now=clock.now)
        assert summary.suppliers == await repository.network_size(session) == 6
        assert await repository.metrics_of(session, uuid.UUID(ids["G"])) is None
        await session.execute(delete(ReferralEdge))  # and with no edges, no network at all
        emptied = await compute(session=session, rule=rule, now=clock.now)
        assert (emptied.suppliers, emptied.written) == (0, 6)
        assert await repository.network_size(session) == 0


async def _computed_at(session: AsyncSession, supplier_id: str) -> datetime | None:
    metric = await repository.metrics_of(session, uuid.UUID(supplier_id))
    return None if metric is None else metric.computed_at


async def _figures_on(url: str, clock: FakeClock) -> list[tuple[object, ...]]:
    """A small seeded random network (the same ids and referrals each time) built through
    the API on the database at ``url``, computed, and its stored metrics in id order."""
    ctx = build_context(Settings(database_url=url, secret_key=TEST_SECRET_KEY), clock=clock)
    try:
        async with ctx.db.transaction() as session:
            admin = await create_key(session=session, name="admin", scopes=["admin"], now=clock.now)
        app = create_app(context=ctx, run_dispatcher=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {admin.secret}"},
        ) as http:
            rng = np.random.default_rng(7)
            ids = [str(uuid.UUID(int=int(k) << 64 | 1)) for k in rng.permutation(40) + 1]
            for sid in ids:
                await create_supplier(http, id=sid)
            at = clock.now - timedelta(days=2)
            referrals = [
                event(
                    ids[a],
                    "referral_converted",
                    at,
                    properties={"referred": f"r{k}@x.example", "referred_supplier_id": ids[b]},
                )
                for k, (a, b) in enumerate(rng.integers(0, len(ids), size=(70, 2)).tolist())
            ]
            pending = [
                event(ids[a], "referral_sent", at, properties={"referred": f"p{k}@x.example"})
                for k, a in enumerate(rng.integers(0, len(ids), size=15).tolist())
            ]
            await ingest(http, referrals + pending)
        rule = SuperConnectorRule(top_share=0.2, min_converted=2)
        async with ctx.db.transaction() as session:
            await compute(session=session, rule=rule, now=clock.now)
            rows = (await session.execute(select(ReferralMetric))).scalars().all()
        return sorted(
            (
                m.supplier_id,
                m.sent,
                m.converted,
                m.reach,
                m.in_degree,
                m.out_degree,
                m.pagerank,
                m.core,
                m.super_connector,
            )
            for m in rows
        )
    finally:
        await ctx.close()


async def test_both_backends_store_the_same_figures(tmp_path: Path, clock: FakeClock) -> None:
    """The same network computed on SQLite and on PostgreSQL: every figure equal, PageRank to
    the last bit (the reads and writes differ by backend; the results may not)."""
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'network.db'}"
    migrate.upgrade(sqlite_url)
    on_sqlite = await _figures_on(sqlite_url, clock)
    postgres = postgres_database()
    try:
        on_postgres = await _figures_on(next(postgres), clock)
    finally:
        postgres.close()
    assert len(on_sqlite) > 30
    assert any(row[-1] for row in on_sqlite)  # some super-connector, so the rule is compared
    assert on_sqlite == on_postgres
