"""Surveys: how fast responses go in and how fast NPS and CSAT reports come out.

    .venv/bin/python benchmarks/surveys.py                     # both backends
    .venv/bin/python benchmarks/surveys.py --backend sqlite --responses 100000

Per backend, on a fresh migrated database: ``--suppliers`` suppliers, then ``--responses``
NPS and CSAT responses over two years stored through the responses service in batches of
5,000 (the API's path: validation, supplier lookups, the insert that skips known ids, the
low-score events), against a baseline measured in the same run, a bare multi-row INSERT of
the same rows; then the NPS report over 24 months by vendor type and the CSAT report by
week, against a baseline ``SELECT count(*)`` over the same window (the floor of any scan).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select

from bench_cli import add_backend_option, chosen_backends
from bench_data import BenchDatabase
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.suppliers.service import upsert_batch
from wedsync_success.surveys.kinds import Segment
from wedsync_success.surveys.metrics import csat_report, nps_report
from wedsync_success.surveys.models import SurveyResponse
from wedsync_success.surveys.schemas import ResponseSource
from wedsync_success.surveys.service import record_responses

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
START = NOW - timedelta(days=730)
BATCH = 5000
VENDORS = ("florist", "photographer", "venue", "caterer", "planner", "videographer")


def _items(
    supplier_ids: list[str], n: int, rng: np.random.Generator, tag: str
) -> list[dict[str, Any]]:
    owner = rng.integers(0, len(supplier_ids), n)
    nps = rng.random(n) < 0.7
    score = np.where(nps, rng.integers(0, 11, n), rng.integers(1, 6, n))
    seconds = rng.uniform(0, (NOW - START).total_seconds() - 60, n)
    return [
        {
            "response_id": f"{tag}-{i}",
            "kind": "nps" if nps[i] else "csat",
            "score": int(score[i]),
            "supplier_id": supplier_ids[owner[i]],
            "responded_at": (START + timedelta(seconds=float(seconds[i]))).isoformat(),
            "comment": "Lovely forms" if i % 5 == 0 else None,
        }
        for i in range(n)
    ]


async def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    database = BenchDatabase(backend, args.postgres_url)
    ctx = build_context(
        Settings(database_url=database.url, secret_key="x" * 40, log_level="WARNING"),
        clock=lambda: NOW,
    )
    rng = np.random.default_rng(13)
    figures: dict[str, Any] = {"backend": backend}
    try:
        suppliers = [
            {
                "id": str(uuid.uuid4()),
                "business_name": f"Bench Supplier {n}",
                "vendor_type": VENDORS[n % len(VENDORS)],
                "country": ("GB", "US", "IE", "FR")[n % 4],
                "signed_up_at": "2024-01-01T00:00:00+00:00",
                "plan_tier": ("starter", "professional", "scale")[n % 3],
                "mrr_minor": 4900,
                "currency": "GBP",
                "subscription_status": "active",
                "users": [{"email": f"u{n}@bench.example", "name": "Ada"}],
            }
            for n in range(args.suppliers)
        ]
        for start in range(0, len(suppliers), 1000):
            async with ctx.db.transaction() as session:
                stored = await upsert_batch(
                    session=session, items=suppliers[start : start + 1000], now=NOW
                )
                assert stored.rejected == 0, stored.errors[:2]
        ids = [s["id"] for s in suppliers]

        items = _items(ids, args.responses, rng, "svc")
        started = time.perf_counter()
        for start in range(0, len(items), BATCH):
            async with ctx.db.transaction() as session:
                result = await record_responses(
                    session=session,
                    items=items[start : start + BATCH],
                    source=ResponseSource.IMPORT,
                    max_batch_size=BATCH,
                    now=NOW,
                )
                assert result.rejected == 0, result.errors[:2]
        figures["ingest_s"] = time.perf_counter() - started

        raw = [
            {
                **i,
                "id": uuid.uuid4(),
                "response_id": f"raw-{n}",
                "supplier_id": uuid.UUID(i["supplier_id"]),
                "responded_at": datetime.fromisoformat(i["responded_at"]),
                "supplier_user_id": None,
                "survey_id": None,
                "source": "import",
                "created_at": NOW,
            }
            for n, i in enumerate(_items(ids, args.responses, rng, "raw"))
        ]
        started = time.perf_counter()
        for start in range(0, len(raw), BATCH):
            async with ctx.db.transaction() as session:
                await session.execute(insert(SurveyResponse), raw[start : start + BATCH])
        figures["baseline_insert_s"] = time.perf_counter() - started
        await ctx.db.refresh_statistics()

        first, last = date(2025, 1, 1), date(2027, 1, 1)  # 24 months
        window = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
        timings: dict[str, list[float]] = {"nps": [], "csat": [], "count": []}
        for _ in range(args.repeat):
            async with ctx.db.sessions() as session:
                t = time.perf_counter()
                report = await nps_report(
                    session=session,
                    start=first,
                    end=last,
                    period=ReportPeriod.MONTH,
                    by=Segment.VENDOR_TYPE,
                )
                timings["nps"].append(time.perf_counter() - t)
                t = time.perf_counter()
                await csat_report(
                    session=session,
                    start=first,
                    end=last,
                    period=ReportPeriod.WEEK,
                    by=Segment.NONE,
                )
                timings["csat"].append(time.perf_counter() - t)
                t = time.perf_counter()
                await session.scalar(
                    select(func.count())
                    .select_from(SurveyResponse)
                    .where(
                        SurveyResponse.responded_at >= window[0],
                        SurveyResponse.responded_at < window[1],
                    )
                )
                timings["count"].append(time.perf_counter() - t)
        figures["nps_s"] = float(np.median(timings["nps"]))
        figures["csat_s"] = float(np.median(timings["csat"]))
        figures["count_s"] = float(np.median(timings["count"]))
        figures["nps_responses"] = report.total.responses
    finally:
        await ctx.close()
        database.drop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    rows = [asyncio.run(bench(b, args)) for b in backends]
    table = Table(title=f"Surveys: {args.responses:,} responses, {args.suppliers:,} suppliers")
    for column in (
        "backend",
        "ingest rows/s",
        "baseline INSERT rows/s",
        "NPS 24 months by vendor",
        "CSAT by week (105)",
        "baseline count(*)",
    ):
        table.add_column(column, justify="right")
    for f in rows:
        table.add_row(
            f["backend"],
            f"{args.responses / f['ingest_s']:,.0f}",
            f"{args.responses / f['baseline_insert_s']:,.0f}",
            f"{f['nps_s'] * 1000:,.0f} ms",
            f"{f['csat_s'] * 1000:,.0f} ms",
            f"{f['count_s'] * 1000:,.0f} ms",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
