"""The reconciled view of risk at scale: the suppliers list sorted by priority and by churn
probability, and what keeping ``supplier_churn_current`` costs batch scoring.

Usage: ``.venv/bin/python benchmarks/risk.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--runs 60]``

For each backend: a fresh database with N bulk-seeded suppliers (90 days of rollups, 30 %
of them billed in EUR, USD or AUD), health scored twice a week apart (as the dashboard
benchmark does), then a day of churn predictions for every supplier written through
``churn.repository.write_predictions`` (synthetic probabilities: no model is needed to
measure the writes or the reads).

1. **Current-table upsert in batch scoring**: the prediction log's write of N rows alone
   (what scoring wrote before), then the same batch with the current table as scoring now
   writes it (log + one set-based upsert of N rows with expected MRR lost priced in SQL),
   for a first day (inserts) and a second day (every row replaced). The difference is the
   extra cost per scoring run; the current upsert is also timed alone.
2. **List page server time**: ``GET /suppliers`` in-process through the ASGI app, signed in,
   p50/p99 over ``--runs`` requests each: sorted by priority (the default), by churn
   probability both ways, filtered by churn band and probability, a later page, and the
   health sort and ``GET /healthz`` as same-run baselines. Goal: p99 < 150 ms.
3. **Repricing** after MRR changes: ``price_current`` for a batch of 1,000 suppliers (what a
   ``POST /suppliers`` of 1,000 adds).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import update

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, Seeder, pg_connect
from bench_timing import fmt_goal, fmt_ms, fmt_s, p50_p99
from dashboard import _account, _sign_in, _timed
from wedsync_success.churn import repository
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.pipeline import rescore_all
from wedsync_success.suppliers.models import Supplier
from wedsync_success.web.app import create_app

console = Console()
RENDER_GOAL = 0.150
OTHER_CURRENCIES = ("EUR", "USD", "AUD")


def _batch(ids: Sequence[uuid.UUID], day: date, now: datetime, seed: int) -> Any:
    """A day's predictions for every supplier: probabilities skewed low like a real model's."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 8.0, size=len(ids))
    bands = np.where(p >= 0.3, "high", np.where(p >= 0.12, "medium", "low"))
    return repository.PredictionBatch(
        model_version="bench-v1",
        as_of=day,
        horizon_days=60,
        horizon_end=now + timedelta(days=61),
        predicted_at=now,
        supplier_ids=list(ids),
        probabilities=p.tolist(),
        risk_bands=bands.tolist(),
        drivers=[None] * len(ids),
    )


async def _log_only(ctx: AppContext, batch: Any) -> float:
    """The log's write alone, as scoring wrote it before the current table (the baseline)."""
    async with ctx.db.transaction() as session:
        started = time.perf_counter()
        await repository.write_log(session, batch)
        seconds = time.perf_counter() - started
        await session.rollback()  # leave the log as it was
    return seconds


async def _with_current(ctx: AppContext, batch: Any) -> float:
    async with ctx.db.transaction() as session:
        started = time.perf_counter()
        await repository.write_predictions(session, batch, rates=ctx.settings.rates)
        return time.perf_counter() - started


async def _mixed_currencies(ctx: AppContext, ids: list[uuid.UUID]) -> None:
    """Bill 30 % of the suppliers in another currency (10 % each), with its price level."""
    for i, currency in enumerate(OTHER_CURRENCIES):
        chosen = ids[i::10]
        async with ctx.db.transaction() as session:
            for start in range(0, len(chosen), 5000):
                await session.execute(
                    update(Supplier)
                    .where(Supplier.id.in_(chosen[start : start + 5000]))
                    .values(currency=currency, mrr_minor=Supplier.mrr_minor * (12 + i) // 10)
                )


async def figures(backend: str, suppliers: int, runs: int) -> dict[str, Any]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    ctx = build_context(
        Settings(database_url=db.url, log_level="WARNING", secret_key=secrets.token_urlsafe(48))
    )
    out: dict[str, Any] = {}
    try:
        today = ctx.clock().date()
        started = time.perf_counter()
        _, ids = Seeder(db.url).seed(suppliers, seed=3, today=today, now=ctx.clock())
        await ctx.db.refresh_statistics()
        await _mixed_currencies(ctx, ids)
        for day in (today - timedelta(days=7), today):
            async with ctx.db.transaction() as session:
                await rescore_all(session=session, ctx=ctx, as_of=day)
        out["seeding"] = time.perf_counter() - started

        yesterday = today - timedelta(days=1)
        now = ctx.clock()
        first = _batch(ids, yesterday, now - timedelta(days=1), seed=1)
        second = _batch(ids, today, now, seed=2)
        writes: dict[str, tuple[float, float]] = {}
        for label, batch in (("first day (inserts)", first), ("next day (replaces)", second)):
            log_alone = await _log_only(ctx, batch)
            both = await _with_current(ctx, batch)
            writes[label] = (log_alone, both)
        out["writes"] = writes
        async with ctx.db.transaction() as session:  # the current upsert alone, again
            started = time.perf_counter()
            await repository.write_current(session, second, rates=ctx.settings.rates)
            out["current alone"] = time.perf_counter() - started
        await ctx.db.refresh_statistics()  # SQLite's ANALYZE, as the product's bulk paths run it
        if backend == "postgresql":  # what autovacuum does within a minute of 100K new rows
            with pg_connect(db.url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        reprice = []
        for start in range(0, 10_000, 1000):
            async with ctx.db.transaction() as session:
                began = time.perf_counter()
                await repository.price_current(
                    session,
                    rates=ctx.settings.rates,
                    supplier_ids=ids[start : start + 1000],
                    now=now,
                )
                reprice.append(time.perf_counter() - began)
        out["reprice"] = p50_p99(reprice)

        await _account(ctx, ["read"])
        app = create_app(context=ctx, run_dispatcher=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            await _sign_in(client)
            first_page = await client.get("/suppliers?sort=priority")
            assert "Expected MRR lost" in first_page.text, "the priority page did not render"
            found = re.search(r"cursor=([A-Za-z0-9_\-]+)", first_page.text)
            cursor = found.group(1) if found else ""
            pages = {
                "GET /healthz (baseline)": "/healthz",
                "health sort (baseline) ?sort=score": "/suppliers?sort=score",
                "priority (default) /suppliers": "/suppliers",
                "priority, page 2": f"/suppliers?sort=priority&cursor={cursor}",
                "churn probability, highest first": "/suppliers?sort=-churn_probability",
                "churn probability, lowest first": "/suppliers?sort=churn_probability",
                "priority, churn band high": "/suppliers?sort=priority&churn_band=high",
                "churn prob., band medium, venues": (
                    "/suppliers?sort=-churn_probability&churn_band=medium&vendor_type=venue"
                ),
                "priority, churn 20-40 %": "/suppliers?sort=priority&churn_min=20&churn_max=40",
            }
            timings = {}
            for label, path in pages.items():
                await client.get(path)  # warm
                timings[label] = await _timed(lambda p=path: client.get(p), runs)
            out["pages"] = timings
    finally:
        await ctx.close()
        db.drop()
    return out


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60, help="requests per page")
    args = parser.parse_args(argv)
    backends = chosen_backends(args.backend)
    for backend in backends:
        console.rule(f"[bold]{backend}, {args.suppliers:,} suppliers")
        out = await figures(backend, args.suppliers, args.runs)
        console.print(f"seeding + two full health rescores: {fmt_s(out['seeding'])}")
        table = Table("batch of predictions", "log alone (before)", "log + current (now)", "extra")
        for label, (alone, both) in out["writes"].items():
            table.add_row(
                label, fmt_s(alone), fmt_s(both), f"{fmt_s(both - alone)} ({both / alone:.2f}x)"
            )
        console.print(table)
        console.print(
            f"current-table upsert alone (replacing every row): {fmt_s(out['current alone'])}"
        )
        p50, p99 = out["reprice"]
        console.print(
            f"reprice 1,000 suppliers after an MRR change: p50 {fmt_ms(p50)}, p99 {fmt_ms(p99)}"
        )
        table = Table("list page", "p50", "p99", "goal")
        for label, (p50, p99) in out["pages"].items():
            baseline = "baseline" in label
            table.add_row(
                label,
                fmt_ms(p50),
                fmt_ms(p99) if baseline else fmt_goal(p99, RENDER_GOAL),
                "" if baseline else f"p99 < {fmt_ms(RENDER_GOAL)}",
            )
        console.print(table)
    console.print(f"\nas of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
