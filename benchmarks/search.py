"""Search-as-you-type at scale: finding a supplier by name among N suppliers.

Usage: ``.venv/bin/python benchmarks/search.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--runs 100]``

For each backend: a fresh database with N bulk-seeded suppliers (rollups, one health
rescore), renamed with the synthetic population's realistic business names
(``synthetic.names``: "Hollow Oak Florals", "The Manor at Cardiff", "Alfie's Patisserie")
and their search words written by the product's own ``suppliers.repository
.replace_name_words``, in chunks of 1,000 as ``POST /suppliers`` writes them.

Then, in-process through the ASGI app, signed in: the dashboard's suggestions
(``GET /search/suppliers?q=``, top 8) for every keystroke of typing a real name, the
worst cases (one letter, the commonest letter, the commonest word, two common words,
a word matching nothing), the API (``GET /api/v1/suppliers/search``, 10 results) and
``GET /healthz`` as the same-run baseline; p50/p99 over ``--runs`` requests each.
Goal: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import update

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, Seeder, pg_connect
from bench_timing import fmt_goal, fmt_ms, fmt_s
from dashboard import _account, _sign_in, _timed
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.pipeline import rescore_all
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.models import Supplier, VendorType
from wedsync_success.suppliers.names import words
from wedsync_success.synthetic.names import business_name, unique_business_name
from wedsync_success.web.app import create_app

console = Console()
GOAL = 0.050
CHUNK = 1000


def realistic_names(count: int, seed: int) -> list[str]:
    """``count`` distinct business names as the synthetic population makes them."""
    rng = np.random.default_rng(seed)
    vendor_types = [v.value for v in VendorType]
    countries = ["GB", "GB", "GB", "IE", "US", "AU", "FR", "ES"]
    draws = rng.integers(0, 1 << 30, size=(count, 10)).tolist()
    taken: set[str] = set()
    names = []
    for i, r in enumerate(draws):
        vendor, country = vendor_types[i % len(vendor_types)], countries[r[9] % len(countries)]
        names.append(unique_business_name(business_name(vendor, country, r), country, r, taken))
    return names


async def _rename(ctx: AppContext, ids: list[Any], names: list[str]) -> None:
    """Give the seeded suppliers real names and their search words, 1,000 per transaction."""
    for start in range(0, len(ids), CHUNK):
        rows = [
            {"id": sid, "business_name": name}
            for sid, name in zip(
                ids[start : start + CHUNK], names[start : start + CHUNK], strict=True
            )
        ]
        async with ctx.db.transaction() as session:
            await session.execute(update(Supplier), rows)  # bulk UPDATE by primary key
            await repository.replace_name_words(session, rows)


def queries(names: Sequence[str]) -> dict[str, str]:
    """The prefixes to time: typing a real name, and the worst cases of this population."""
    counts = Counter(w for name in names for w in set(words(name)) if len(w) >= 3)
    letters = Counter(w[0] for name in names for w in set(words(name)))
    common, second = [w for w, _ in counts.most_common(2)]
    letter = letters.most_common(1)[0][0]
    target = names[len(names) // 2]
    typed = {f"typing {target!r}: {target[:n]!r}": target[:n] for n in (1, 2, 3, 5, 8, len(target))}
    return {
        **typed,
        f"commonest letter {letter!r}": letter,
        "one letter 'q'": "q",
        f"commonest word {common!r} ({counts[common]:,} names)": common,
        f"two common words '{common} {second[:2]}'": f"{common} {second[:2]}",
        "nothing matches 'zzyzx'": "zzyzx",
    }


async def figures(backend: str, suppliers: int, runs: int) -> dict[str, Any]:
    db = BenchDatabase(backend, DEFAULT_POSTGRES_URL)
    ctx = build_context(
        Settings(database_url=db.url, log_level="WARNING", secret_key=secrets.token_urlsafe(48))
    )
    out: dict[str, Any] = {}
    try:
        today = ctx.clock().date()
        started = time.perf_counter()
        _, ids = Seeder(db.url).seed(suppliers, seed=5, today=today, now=ctx.clock())
        await ctx.db.refresh_statistics()
        async with ctx.db.transaction() as session:
            await rescore_all(session=session, ctx=ctx, as_of=today)
        out["seeding"] = time.perf_counter() - started
        names = realistic_names(suppliers, seed=7)
        started = time.perf_counter()
        await _rename(ctx, ids, names)
        out["words"] = time.perf_counter() - started
        await ctx.db.refresh_statistics()
        if backend == "postgresql":  # what autovacuum does within a minute of the new rows
            with pg_connect(db.url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        api_key = await _account(ctx, ["read"])
        app = create_app(context=ctx, run_dispatcher=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            await _sign_in(client)
            timings: dict[str, tuple[float, float]] = {}
            hits: dict[str, int] = {}
            await client.get("/healthz")
            timings["GET /healthz (baseline)"] = await _timed(lambda: client.get("/healthz"), runs)
            for label, q in queries(names).items():
                first = await client.get("/search/suppliers", params={"q": q})  # warm
                hits[label] = len(first.json()["items"])
                timings[label] = await _timed(
                    lambda q=q: client.get("/search/suppliers", params={"q": q}), runs
                )
            headers = {"Authorization": f"Bearer {api_key}"}
            api_q = names[len(names) // 3].split()[0][:3]
            label = f"API /api/v1/suppliers/search?q={api_q}&limit=10"
            timings[label] = await _timed(
                lambda: client.get(
                    "/api/v1/suppliers/search", params={"q": api_q, "limit": 10}, headers=headers
                ),
                runs,
            )
            hits[label] = 10
            out["timings"], out["hits"] = timings, hits
    finally:
        await ctx.close()
        db.drop()
    return out


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_backend_option(parser)
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100, help="requests per query")
    args = parser.parse_args(argv)
    backends = chosen_backends(args.backend)
    for backend in backends:
        console.rule(f"[bold]{backend}, {args.suppliers:,} suppliers")
        out = await figures(backend, args.suppliers, args.runs)
        console.print(
            f"seeding + a health rescore: {fmt_s(out['seeding'])}; "
            f"renaming and writing search words: {fmt_s(out['words'])}"
        )
        table = Table("query", "shown", "p50", "p99", "goal")
        for label, (p50, p99) in out["timings"].items():
            baseline = "baseline" in label
            table.add_row(
                label,
                "" if baseline else str(out["hits"][label]),
                fmt_ms(p50),
                fmt_ms(p99) if baseline else fmt_goal(p99, GOAL),
                "" if baseline else f"p99 < {fmt_ms(GOAL)}",
            )
        console.print(table)
    console.print(f"\nas of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
