"""Success attribution speed: ``reports.attribution.attribution_report`` over 100,000
suppliers, beside a baseline in the same run.

Usage: ``.venv/bin/python benchmarks/attribution.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--periods-per-supplier 5] [--touches-per-supplier 4] [--repeat 3]``

For each backend, on a fresh database: the cohort benchmark's population (``cohorts.py``:
back-to-back periods over 24 months, some paused, some churned) with one period in three
at twice its predecessor's MRR (upgrades; the rest continue as renewals), plus per supplier
``--touches-per-supplier`` success events in the outbox and one message in two (sent, a
third of them clicked), at random instants of the two years. Timed (best of ``--repeat``):
the report over the whole two years with 30-day windows and all three models, and the
NumPy split alone on its candidates. Baseline: one aggregate over the periods and one over
the outbox (``count`` and ``max``) - the least an attribution must read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import date, timedelta
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase
from bench_timing import fmt_s
from cohorts import START, load, population
from wedsync_success.config import Settings
from wedsync_success.context import build_context
from wedsync_success.events.models import OutboxEvent
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.reports import attribution_repository
from wedsync_success.reports.attribution import attribution_report, split_credit
from wedsync_success.reports.attribution_schemas import CreditModel
from wedsync_success.suppliers.models import SubscriptionPeriod

console = Console()
END = date(2027, 1, 1)
TOUCH_TYPES = (
    "supplier.health_improved",
    "supplier.milestone_achieved",
    "supplier.success_champion",
    "supplier.support_ticket_closed",
)


def touches(
    suppliers: list[dict[str, Any]], per: int, seed: int = 5
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Outbox success events and sent messages, at random instants of the two years."""
    rng = np.random.default_rng(seed)
    n = len(suppliers)
    span = (END - START.date()).days * 86_400
    at = rng.integers(0, span, size=(n, per))
    kinds = rng.integers(0, len(TOUCH_TYPES), size=(n, per))
    events = [
        {
            "event_id": uuid.uuid4(),
            "event_type": TOUCH_TYPES[int(kinds[i, k])],
            "supplier_id": suppliers[i]["id"],
            "payload": "{}",
            "occurred_at": START + timedelta(seconds=int(at[i, k])),
            "created_at": START,
            "attempts": 0,
        }
        for i in range(n)
        for k in range(per)
    ]
    sent = rng.integers(0, span, size=n)
    clicked = rng.random(n) < 0.33
    messages = [
        {
            "id": uuid.uuid4(),
            "idempotency_key": f"bench:{i}",
            "supplier_id": suppliers[i]["id"],
            "channel": "email",
            "category": "marketing",
            "template": "upsell",
            "status": "sent",
            "subject": "",
            "body": "",
            "attempts": 1,
            "created_at": START,
            "updated_at": START,
            "sent_at": START + timedelta(seconds=int(sent[i])),
            "clicked_at": START + timedelta(seconds=int(sent[i]) + 3600) if clicked[i] else None,
        }
        for i in range(0, n, 2)
    ]
    return events, messages


def with_upgrades(periods: list[dict[str, Any]], seed: int = 7) -> list[dict[str, Any]]:
    """One period in three (not a supplier's first) at twice the MRR of the one before."""
    rng = np.random.default_rng(seed)
    up = rng.random(len(periods)) < 1 / 3
    for n, period in enumerate(periods):
        if up[n] and n and periods[n - 1]["supplier_id"] == period["supplier_id"]:
            period["mrr_minor"] = periods[n - 1]["mrr_minor"] * 2
    return periods


async def run_backend(
    backend: str, n: int, per: int, per_touch: int, repeat: int, pg_url: str
) -> dict[str, float]:
    db = BenchDatabase(backend, pg_url)
    ctx = build_context(Settings(database_url=db.url, secret_key="x" * 40))
    try:
        suppliers, periods = population(n, per)
        events, messages = touches(suppliers, per_touch)
        began = time.perf_counter()
        load(
            db,
            ("suppliers", suppliers),
            ("subscription_periods", with_upgrades(periods)),
            ("outbox_events", events),
            ("interventions", messages),
        )
        console.print(
            f"[dim]{backend}: {n:,} suppliers, {len(periods):,} periods, {len(events):,} "
            f"success events, {len(messages):,} messages loaded in "
            f"{time.perf_counter() - began:.1f} s[/]"
        )
        await ctx.db.refresh_statistics()
        figures: dict[str, float] = {}

        async def best(label: str, work: Any) -> None:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                async with ctx.db.sessions() as session:
                    await work(session)
                times.append(time.perf_counter() - t0)
            figures[label] = min(times)

        async def baseline(session: Any) -> None:
            p, o = SubscriptionPeriod, OutboxEvent
            await session.execute(select(func.count(), func.max(p.starts_at)))
            await session.execute(select(func.count(), func.max(o.occurred_at)))

        async def report(session: Any) -> None:
            got = await attribution_report(
                session=session,
                start=START.date(),
                end=END,
                window_days=30,
                models=list(CreditModel),
                rates=DEFAULT_RATES,
            )
            figures["conversions"] = sum(c.conversions for c in got.conversions)
            figures["credited"] = sum(r.credit[CreditModel.LINEAR] for r in got.credit)

        async with ctx.db.sessions() as session:
            found = await attribution_repository.candidates(
                session,
                start=START.date(),
                end=END,
                window_days=30,
                rates=DEFAULT_RATES,
                referral_types=["referral_converted"],
            )
        figures["rows"] = len(found.kinds)

        async def split(_session: Any) -> None:
            split_credit(found.kinds, found.keys, found.touch_types)

        await best("baseline", baseline)
        await best("report", report)
        await best("split", split)
        return figures
    finally:
        await ctx.close()
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--periods-per-supplier", type=int, default=5)
    parser.add_argument("--touches-per-supplier", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    backends = chosen_backends(args.backend)
    table = Table(title=f"Success attribution, {args.suppliers:,} suppliers, two years")
    for name in (
        "backend",
        "candidate rows",
        "conversions",
        "credited",
        "baseline: two aggregates",
        "report (3 models)",
        "NumPy split alone",
    ):
        table.add_column(name, justify="right")
    for backend in backends:
        f = asyncio.run(
            run_backend(
                backend,
                args.suppliers,
                args.periods_per_supplier,
                args.touches_per_supplier,
                args.repeat,
                args.postgres_url,
            )
        )
        table.add_row(
            backend,
            f"{int(f['rows']):,}",
            f"{int(f['conversions']):,}",
            f"{f['credited']:,.0f}",
            fmt_s(f["baseline"]),
            fmt_s(f["report"]),
            fmt_s(f["split"]),
        )
    console.print(table)
    console.print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
