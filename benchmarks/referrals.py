"""Referral-network metrics at scale: ``referrals compute`` over N suppliers.

Usage: ``.venv/bin/python benchmarks/referrals.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--runs 3] [--new-referrals 500]``

For each backend: a fresh database with N bulk-seeded suppliers (``bench_data.Seeder``)
and a referral network written as edges: suppliers join in signup order and ~35 % were
referred by an earlier supplier, chosen with a bias toward early ones (so there are hubs and
chains several levels deep), plus ~0.6 invitations per supplier that never converted, and a
few referrals back up the chain (cycles). Then, median of ``--runs``:

* baseline: loading the edges alone (``repository.edge_records``);
* the metrics in memory from those records (numbering the nodes, then degrees, reach,
  PageRank, k-core: ``service.Network``, ``graph.metrics``);
* the whole ``service.compute`` (load, metrics, super-connectors, merge into
  ``referral_metrics``) in one transaction, as the command runs it, three ways: the first
  compute (an empty ``referral_metrics``: every row inserted), a recompute after
  ``--new-referrals`` more conversions (every PageRank moves, so nearly every row is
  updated), and a recompute with nothing changed (nothing written). Goal: each < 10 s at
  100,000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
import typing
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table
from sqlalchemy import Table as SATable
from sqlalchemy import delete

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, Seeder
from bench_timing import fmt_goal, fmt_s
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db.bulk import upsert_columns
from wedsync_success.integrations.referrals import graph, repository, service
from wedsync_success.integrations.referrals.models import ReferralEdge, ReferralMetric
from wedsync_success.integrations.referrals.schemas import ComputeSummary

console = Console(width=150)
GOAL = 10.0
REFERRED_SHARE = 0.35
PENDING_PER_SUPPLIER = 0.6
BACK_REFERRALS = 0.002
CHUNK = 50_000


def network_edges(
    ids: list[uuid.UUID], rng: np.random.Generator, *, now: datetime
) -> dict[str, list[Any]]:
    """The benchmark's referral edges over ``ids`` (in signup order) as columns."""
    n = len(ids)
    rows = np.arange(1, n)
    referred = rows[rng.random(rows.size) < REFERRED_SHARE]
    # an earlier supplier, biased toward the early ones: hubs, and chains through them
    referrer = np.floor(referred * rng.random(referred.size) ** 2).astype(np.int64)
    back = rng.choice(n, size=int(n * BACK_REFERRALS), replace=False)
    back_to = np.floor(back * rng.random(back.size)).astype(np.int64)  # a cycle up the chain
    pending = rng.integers(0, n, size=int(n * PENDING_PER_SUPPLIER))
    src = np.concatenate([referrer, back, pending])
    dst = np.concatenate([referred, back_to, np.full(pending.size, -1)])
    converted = dst >= 0
    sent = [now - timedelta(days=30)] * src.size
    keys = [f"invite-{k}@bench.example" for k in range(src.size)]
    return {
        "referrer_id": [ids[i] for i in src.tolist()],
        "referee_key": keys,
        "referee_supplier_id": [ids[j] if j >= 0 else None for j in dst.tolist()],
        "sent_at": sent,
        "converted_at": [now - timedelta(days=20) if c else None for c in converted.tolist()],
    }


async def _write_edges(ctx: AppContext, edges: dict[str, list[Any]]) -> None:
    table = typing.cast(SATable, ReferralEdge.__table__)
    size = len(edges["referrer_id"])
    for start in range(0, size, CHUNK):
        part = {k: v[start : start + CHUNK] for k, v in edges.items()}
        async with ctx.db.transaction() as session:
            await upsert_columns(session, table, key=("referrer_id", "referee_key"), columns=part)


async def _load(ctx: AppContext) -> npt.NDArray[np.void]:
    async with ctx.db.sessions() as session:
        return await repository.edge_records(session)


async def _compute(ctx: AppContext) -> tuple[float, ComputeSummary]:
    t0 = time.perf_counter()
    async with ctx.db.transaction() as session:
        summary = await service.compute(
            session=session, rule=service.rule_of(ctx.settings), now=datetime.now(UTC)
        )
    return time.perf_counter() - t0, summary


def new_referrals(
    ids: list[uuid.UUID], rng: np.random.Generator, *, count: int, run: int, now: datetime
) -> dict[str, list[Any]]:
    """``count`` more converted referrals between existing suppliers (keys of their own)."""
    src, dst = rng.integers(0, len(ids), size=count), rng.integers(0, len(ids), size=count)
    return {
        "referrer_id": [ids[i] for i in src.tolist()],
        "referee_key": [f"more-{run}-{k}@bench.example" for k in range(count)],
        "referee_supplier_id": [ids[j] for j in dst.tolist()],
        "sent_at": [now] * count,
        "converted_at": [now] * count,
    }


async def figures(backend: str, suppliers: int, runs: int, more: int) -> dict[str, Any]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    ctx = build_context(
        Settings(database_url=db.url, log_level="WARNING", secret_key=secrets.token_urlsafe(48))
    )
    out: dict[str, Any] = {"backend": backend}
    try:
        now = ctx.clock()
        started = time.perf_counter()
        _, ids = Seeder(db.url).seed(suppliers, seed=5, today=now.date(), now=now)
        rng = np.random.default_rng(11)
        edges = network_edges(ids, rng, now=now)
        await _write_edges(ctx, edges)
        await ctx.db.refresh_statistics()
        out["seeding"] = time.perf_counter() - started
        out["edges"] = len(edges["referrer_id"])
        timings: dict[str, list[float]] = {
            "load": [],
            "metrics": [],
            "first": [],
            "changed": [],
            "same": [],
        }
        written: dict[str, int] = {}
        summary = None
        for run in range(runs):
            t0 = time.perf_counter()
            loaded = await _load(ctx)
            timings["load"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            network = service.Network.of(loaded)
            found = graph.metrics(len(network.ids), network.src, network.dst)
            timings["metrics"].append(time.perf_counter() - t0)
            async with ctx.db.transaction() as session:
                await session.execute(delete(ReferralMetric))
            for kind in ("first", "changed", "same"):
                if kind == "changed":
                    await _write_edges(ctx, new_referrals(ids, rng, count=more, run=run, now=now))
                seconds, summary = await _compute(ctx)
                timings[kind].append(seconds)
                written[kind] = summary.written
        assert summary is not None
        out |= {name: statistics.median(values) for name, values in timings.items()}
        out |= {
            "written": written,
            "network": summary.suppliers,
            "network_edges": summary.network_edges,
            "super_connectors": summary.super_connectors,
            "max_reach": int(found.reach.max()) if found.reach.size else 0,
            "max_core": int(found.core.max()) if found.core.size else 0,
        }
        return out
    finally:
        await ctx.close()
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--new-referrals",
        type=int,
        default=500,
        help="conversions added before the 'after new referrals' recompute of each run",
    )
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    table = Table(title=f"referrals compute, {args.suppliers:,} suppliers (median of {args.runs})")
    for column in (
        "backend",
        "edges",
        "network",
        "load edges (baseline)",
        "metrics in memory",
        "first compute (rows written)",
        "after new referrals",
        "nothing changed",
        "goal < 10 s",
        "max reach / core",
        "super-connectors",
    ):
        table.add_column(column)
    for backend in backends:
        f = asyncio.run(figures(backend, args.suppliers, args.runs, args.new_referrals))
        w = f["written"]
        table.add_row(
            backend,
            f"{f['edges']:,}",
            f"{f['network']:,} ({f['network_edges']:,} edges)",
            fmt_s(f["load"]),
            fmt_s(f["metrics"]),
            f"{fmt_s(f['first'])} ({w['first']:,})",
            f"{fmt_s(f['changed'])} ({w['changed']:,})",
            f"{fmt_s(f['same'])} ({w['same']:,})",
            fmt_goal(max(f["first"], f["changed"], f["same"]), GOAL),
            f"{f['max_reach']:,} / {f['max_core']}",
            str(f["super_connectors"]),
        )
        console.print(f"{backend}: seeded in {fmt_s(f['seeding'])}")
    console.print(table)
    load1, load5, _ = os.getloadavg()
    console.print(f"load average {load1:.2f} / {load5:.2f} (1 / 5 min), {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
