"""Performance figures of churn prediction, each next to a baseline from the same run.

Usage::

    .venv/bin/python benchmarks/churn.py [--demo-db URL] [--sizes 10000,100000]
                                         [--requests 500] [--quick]

1. Training on the demo population (``--demo-db``: an already seeded demo database, e.g.
   ``sqlite+aiosqlite:////tmp/churn_demo.db``; without it a 2,000 x 18-month population is
   seeded through the real ingestion path first, which takes minutes) and the model card's
   metrics against the logistic and health-score baselines.
2. One supplier's prediction through the API (``GET /api/v1/suppliers/{id}/churn``,
   in-process ASGI client, SHAP drivers included, the answer written to the prediction log),
   p50/p99: for today, with the feature store at today as after the day's ``churn score``,
   and for yesterday, when the features come from 180 days of rollups instead; baselines:
   ``GET /healthz`` on the same client, an authenticated read, the feature query alone (both
   sources), ``Booster.predict`` and ``pred_contrib`` on one row alone.
3. Batch scoring of 10,000 and 100,000 suppliers (90 days of bulk-written rollups per
   supplier) on SQLite and PostgreSQL: building the feature store, reading it (against
   aggregating the rollups), the vectorised predict pass, and the daily ``churn score``
   (moving the store one day, features, predict, drivers of the high band, writing 100K
   predictions next to the previous day's), then filling in a day's outcomes.

The demo database is copied first (the benchmark writes an API key and predictions).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine.url import make_url

from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, Seeder
from bench_timing import fmt_ms, fmt_s, p50_p99
from wedsync_success.access.service import create_key
from wedsync_success.churn import feature_store, service
from wedsync_success.churn.features import Source, compute_features
from wedsync_success.churn.prediction import PREDICTORS, Predictor
from wedsync_success.churn.registry import Registry
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db import migrate
from wedsync_success.suppliers.models import Supplier
from wedsync_success.web.app import create_app

SINGLE_GOAL_SECONDS = 0.020
BATCH_GOAL_SECONDS = 5.0
BATCH_GOAL_SIZE = 100_000

console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def goal(ok: bool, text: str) -> str:
    return f"[green]{text}[/]" if ok else f"[red]{text}[/]"


async def timed(work: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


def timed_sync(work: Callable[[], Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return samples


def copy_sqlite(url: str, folder: Path) -> str:
    """A consistent copy of a SQLite database (backup API: WAL content included)."""
    source = make_url(url).database or ""
    target = folder / "demo.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite+aiosqlite:///{target}"


async def seed_demo(url: str) -> None:
    from wedsync_success import demo
    from wedsync_success.synthetic import generate_population

    migrate.upgrade(url)
    end = datetime.now(UTC)
    ctx = build_context(Settings(database_url=url), clock=lambda: end)
    population = generate_population(suppliers=2000, months=18, seed=7, end=end)
    console.print(f"seeding {len(population.events):,} events through the ingestion path…")
    await demo.seed(ctx, population, progress=lambda *_: None)
    await ctx.close()


# --- 1. training ------------------------------------------------------------------------


async def training(ctx: AppContext, registry: Registry) -> dict[str, Any]:
    started = time.perf_counter()
    # Made active by hand, as the demo does: the rest of the run scores with it whatever
    # the promotion gate says (its reasons are printed below the card).
    version = await service.train_suppliers(
        ctx=ctx, registry=registry, options=service.TrainOptions(promote=True), now=ctx.clock()
    )
    seconds = time.perf_counter() - started
    meta = version.metadata
    data = meta["data"]
    console.rule("[bold]1. Training on the demo population")
    console.print(
        f"{data['suppliers']:,} suppliers; {len(data['train_cutoffs'])} train + "
        f"{len(data['test_cutoffs'])} test cutoffs ({data['cutoff_spacing']}, churn known "
        f"until {data['churn_known_until']}); rows train/test "
        f"{data['rows']['fit']['rows'] + data['rows']['calibration']['rows']:,}/"
        f"{data['rows']['test']['rows']:,}; {meta['best_iteration']} trees.\n"
        f"Training time: [bold]{fmt_s(seconds)}[/] (features at every cutoff, fit, calibration,"
        " baselines, report)."
    )
    table = Table("metric (test window)", "LightGBM", "Logistic", "Health score")
    for key, label in (
        ("roc_auc", "ROC-AUC"),
        ("pr_auc", "PR-AUC"),
        ("brier", "Brier"),
        ("ece", "ECE"),
        ("precision", "precision @ threshold"),
        ("recall", "recall @ threshold"),
        ("top_decile_precision", "precision @ top decile"),
        ("top_decile_lift", "lift @ top decile"),
    ):
        table.add_row(
            label,
            *(f"{meta['metrics'][k][key]:.4f}" for k in ("model", "logistic", "health_score")),
        )
    console.print(table)
    for reason in meta["promotion"]["blocked_by"]:
        console.print(f"[yellow]Promotion gate: {reason}[/]", highlight=False)
    return meta


# --- 2. single prediction -----------------------------------------------------------------


async def single(ctx: AppContext, registry: Registry, requests: int) -> None:
    predictor: Predictor = PREDICTORS.active(registry)
    assert predictor.spec is not None
    as_of = ctx.clock().date()
    yesterday = as_of - timedelta(days=1)
    async with ctx.db.sessions() as session:
        ids = list(
            await session.scalars(
                select(Supplier.id)
                .where(
                    Supplier.subscription_ended_at.is_(None),
                    Supplier.signed_up_at < ctx.clock() - timedelta(days=2),
                )
                .limit(200)
            )
        )
    async with ctx.db.transaction() as session:
        key = await create_key(session=session, name="bench", scopes=["read"], now=ctx.clock())
        # As after the day's `churn score`: the feature store is at today.
        await feature_store.roll_forward(session, to=as_of, now=ctx.clock())
    ctx.settings.churn_registry = registry.root
    app = create_app(context=ctx, run_dispatcher=False)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key.secret}"}
    rows: list[tuple[str, list[float]]] = []
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as c:
        position = 0

        def churn_of(day: date) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                nonlocal position
                sid = ids[position % len(ids)]
                position += 1
                response = await c.get(f"/api/v1/suppliers/{sid}/churn", params={"as_of": str(day)})
                assert response.status_code == 200, response.text

            return call

        async def healthz() -> None:
            assert (await c.get("/healthz")).status_code == 200

        async def history() -> None:
            nonlocal position
            sid = ids[position % len(ids)]
            position += 1
            response = await c.get(f"/api/v1/suppliers/{sid}/health/history")
            assert response.status_code == 200, response.text

        await timed(churn_of(as_of), 20)  # warm up: model load, statement caches
        await timed(churn_of(yesterday), 20)
        rows.append(
            (
                "GET /suppliers/{id}/churn, today (feature store row + predict + SHAP + log)",
                await timed(churn_of(as_of), requests),
            )
        )
        rows.append(
            (
                "GET /suppliers/{id}/churn, yesterday (180 days of rollups instead)",
                await timed(churn_of(yesterday), requests),
            )
        )
        rows.append(("baseline: GET /healthz, same client", await timed(healthz, requests)))
        rows.append(
            (
                "baseline: GET /suppliers/{id}/health/history (auth + a read)",
                await timed(history, requests),
            )
        )
    async with ctx.db.sessions() as session:
        position = 0

        def features(source: Source) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                nonlocal position
                sid = ids[position % len(ids)]
                position += 1
                await compute_features(
                    session, spec=spec, as_of=as_of, supplier_ids=[sid], source=source
                )

            return call

        spec = predictor.spec
        rows.append(("baseline: features alone, store", await timed(features("store"), requests)))
        rows.append(
            ("baseline: features alone, rollups", await timed(features("rollups"), requests))
        )
        frame = await compute_features(session, spec=spec, as_of=as_of)
    row = frame.matrix[:1]
    rows.append(
        ("baseline: Booster.predict, one row", timed_sync(lambda: predictor.raw(row), requests))
    )
    rows.append(
        (
            "baseline: pred_contrib (SHAP), one row",
            timed_sync(lambda: predictor.contributions(row), requests),
        )
    )
    console.rule("[bold]2. One supplier's prediction")
    table = Table("what", "p50", "p99", f"goal p99 < {fmt_ms(SINGLE_GOAL_SECONDS)}")
    for i, (label, samples) in enumerate(rows):
        p50, p99 = p50_p99(samples)
        mark = goal(p99 < SINGLE_GOAL_SECONDS, "met" if p99 < SINGLE_GOAL_SECONDS else "missed")
        table.add_row(label, fmt_ms(p50), fmt_ms(p99), mark if i < 2 else "")
    console.print(table)
    console.print(
        f"{requests} sequential requests over {len(ids)} suppliers, SQLite, in-process ASGI. "
        "Each answer is also written to the prediction log and committed."
    )


# --- 3. batch scoring ---------------------------------------------------------------------


def predict_pass(predictor: Predictor, x: Any) -> Any:
    """What batch scoring does after the feature query: predict, calibrate, band."""
    return predictor.risk_bands(predictor.probabilities(x))


async def batch(registry: Registry, sizes: Sequence[int], backends: Sequence[str]) -> None:
    predictor = PREDICTORS.active(registry)
    assert predictor.spec is not None
    spec = predictor.spec
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    console.rule("[bold]3. Batch scoring (90 days of rollups per supplier)")
    table = Table(
        "backend",
        "suppliers",
        "store: first build",
        "store: daily roll",
        "features: store (baseline: rollups)",
        "predict pass",
        "churn score",
        f"goal {BATCH_GOAL_SIZE:,} < {BATCH_GOAL_SECONDS:.0f} s",
        "outcomes of a day's predictions",
    )
    for backend in backends:
        for size in sizes:
            database = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
            url = database.url
            quiet_logs()
            stats, _ = Seeder(url).seed(size, seed=3, today=today, now=datetime.now(UTC))
            ctx = build_context(Settings(database_url=url))
            try:
                now = datetime.now(UTC)
                async with ctx.db.transaction() as session:
                    started = time.perf_counter()
                    await feature_store.rebuild(session, as_of=yesterday, now=now)
                build = time.perf_counter() - started
                async with ctx.db.sessions() as session:
                    started = time.perf_counter()
                    frame = await compute_features(
                        session, spec=spec, as_of=yesterday, source="store"
                    )
                    from_store = time.perf_counter() - started
                    started = time.perf_counter()
                    await compute_features(session, spec=spec, as_of=yesterday)
                    from_rollups = time.perf_counter() - started
                pass_ = functools.partial(predict_pass, predictor, frame.matrix)
                predict = min(timed_sync(pass_, 3))
                # Yesterday's run fills the log; today's is the measured daily run: the store
                # moves one day forward, then everyone is scored and logged next to yesterday's.
                async with ctx.db.transaction() as session:
                    await service.score_all(
                        session=session,
                        registry=registry,
                        as_of=yesterday,
                        now=now,
                        rates=ctx.settings.rates,
                    )
                async with ctx.db.transaction() as session:
                    started = time.perf_counter()
                    await service.roll_feature_store(session=session, as_of=today, now=now)
                roll = time.perf_counter() - started
                async with ctx.db.transaction() as session:
                    started = time.perf_counter()
                    summary = await service.score_all(
                        session=session,
                        registry=registry,
                        as_of=today,
                        now=datetime.now(UTC),
                        rates=ctx.settings.rates,
                    )
                whole = time.perf_counter() - started
                # 60 days on, yesterday's horizon has passed (today's has not): a day's worth
                # of outcomes becomes known at once.
                later = datetime(today.year, today.month, today.day, 1, tzinfo=UTC) + timedelta(
                    days=60
                )
                async with ctx.db.transaction() as session:
                    known = await service.fill_outcomes(session=session, now=later)
            finally:
                await ctx.close()
                database.drop()
            parts = ", ".join(f"{k} {v:.2f}" for k, v in summary.seconds.items())
            ok = whole < BATCH_GOAL_SECONDS
            table.add_row(
                backend,
                f"{len(frame):,} ({stats.rollups:,} rollup rows)",
                fmt_s(build),
                fmt_s(roll),
                f"{fmt_s(from_store)} ({fmt_s(from_rollups)})",
                fmt_s(predict),
                f"{fmt_s(whole)} ({parts}; drivers for {summary.explained:,})",
                goal(ok, "met" if ok else "missed") if size == BATCH_GOAL_SIZE else "",
                f"{fmt_s(known.seconds)} ({known.churned + known.stayed:,} rows)",
            )
    console.print(table)
    console.print(
        "A day's `churn score` runs three transactions: the store's roll (once a day; built "
        "the first time, kept current on ingest in between), the scoring (features from the "
        "store + predict + drivers of the high band + writing the predictions next to the "
        "previous day's), then the outcomes (here: the day whose 60-day horizon has just "
        "passed)."
    )


def quiet_logs() -> None:
    """Request logs (httpx) and migration chatter (alembic) would drown the figures."""
    for name in ("httpx", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="churn_bench_"))
    try:
        if args.demo_db:
            url = copy_sqlite(args.demo_db, folder)
        else:
            url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
            await seed_demo(url)
        migrate.upgrade(url)
        registry = Registry(folder / "models")
        ctx = build_context(
            Settings(database_url=url, churn_registry=registry.root, secret_key="b" * 48)
        )
        quiet_logs()
        try:
            await training(ctx, registry)
            await single(ctx, registry, args.requests)
        finally:
            await ctx.close()
        await batch(registry, args.sizes, args.backends)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-db", help="URL of a seeded demo database (SQLite), copied first")
    parser.add_argument("--sizes", default="10000,100000", help="batch sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=500, help="API requests to time")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="batch-scoring backends, comma-separated"
    )
    parser.add_argument("--quick", action="store_true", help="sizes 2000 and 10000, 200 requests")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in str(args.sizes).split(",")]
    args.backends = [b for b in str(args.backends).split(",") if b]
    if args.quick:
        args.sizes, args.requests = [2000, 10000], 200
    if args.demo_db and make_url(args.demo_db).get_backend_name() != "sqlite":
        parser.error("--demo-db must be a SQLite URL (it is copied with the backup API)")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
