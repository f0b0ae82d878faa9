"""The success manager's workspace at scale: the suppliers list (with its owner views and the
count of matching suppliers) and a supplier's profile, at N suppliers with owners, notes and
tasks.

Usage: ``.venv/bin/python benchmarks/workspace.py [--backend sqlite|postgresql|both]
[--suppliers 100000] [--runs 60]``

For each backend: a fresh database with N bulk-seeded suppliers (90 days of rollups), health
scored twice a week apart, a day of churn predictions for everyone (synthetic probabilities,
written through ``churn.repository.write_predictions`` as scoring does), a team of ten
managers and an admin, 90 % of the accounts owned by the managers, two notes on every fifth
supplier and an open task on every tenth.

Then, in-process through the ASGI app, signed in, p50/p99 over ``--runs`` requests each:

- **List**: an admin's default view (everyone's accounts, by priority, with the count capped
  at 2,000: "more than 2,000 match"), the same with the exact count asked for, a
  manager's default ("My accounts", about 9,000 at 100K), a manager's filtered view, the
  accounts nobody owns, and the name order; ``GET /healthz`` as the same-run baseline.
- **Profile**: ``GET /suppliers/{id}`` of owned suppliers with notes, a task and a churn
  prediction (a different one each request), and the same page's JSON from
  ``GET /api/v1/suppliers/{id}`` as a baseline of what the page adds.
- **Tasks**: a manager's "My tasks" board.

Goal: p99 < 150 ms for the list and the profile.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from bench_cli import add_backend_option, chosen_backends
from bench_data import DEFAULT_POSTGRES_URL, BenchDatabase, Seeder, pg_connect
from bench_timing import fmt_goal, fmt_ms, fmt_s, p50_p99
from risk import _batch
from wedsync_success.access.models import TeamRole
from wedsync_success.access.service import create_key
from wedsync_success.access.team import create_user
from wedsync_success.churn import repository as churn_repository
from wedsync_success.config import Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.interventions.models import SuccessTask
from wedsync_success.pipeline import rescore_all
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.web.app import create_app
from wedsync_success.workspace.models import SupplierNote

console = Console()
GOAL = 0.150
PASSWORD = "bench-password-123"
MANAGERS = 10
ADMIN = "lead@bench.example"


async def _team(ctx: AppContext) -> list[uuid.UUID]:
    """Ten managers and an admin; returns the managers' ids."""
    ids = []
    async with ctx.db.transaction() as session:
        for n in range(MANAGERS):
            user = await create_user(
                session=session,
                email=f"manager{n}@bench.example",
                name=f"Manager {n}",
                password=PASSWORD,
                now=ctx.clock(),
            )
            ids.append(user.id)
        await create_user(
            session=session,
            email=ADMIN,
            name="Team Lead",
            password=PASSWORD,
            now=ctx.clock(),
            role=TeamRole.ADMIN,
        )
    return ids


async def _workspace(ctx: AppContext, ids: list[uuid.UUID], managers: list[uuid.UUID]) -> None:
    """Owners for 90 % of the accounts, two notes on every fifth, an open task on every tenth."""
    now = ctx.clock()
    owned = ids[: len(ids) * 9 // 10]
    async with ctx.db.transaction() as session:
        for k, manager in enumerate(managers):
            mine = owned[k :: len(managers)]
            for start in range(0, len(mine), 5000):
                await suppliers_repository.set_owner(session, mine[start : start + 5000], manager)
        notes = [
            {
                "id": uuid.uuid4(),
                "supplier_id": sid,
                "author_id": managers[i % len(managers)],
                "body": f"Call {n}: busy season, back in touch in March.",
                "created_at": now - timedelta(days=n + 1),
                "updated_at": now - timedelta(days=n + 1),
            }
            for i, sid in enumerate(ids[::5])
            for n in range(2)
        ]
        tasks = [
            {
                "id": uuid.uuid4(),
                "supplier_id": sid,
                "reason": "renewal_call",
                "title": "Call about the renewal",
                "detail": "",
                "priority": "high",
                "status": "open",
                "owner_id": managers[i % len(managers)],
                "due_on": (now + timedelta(days=i % 14 - 7)).date(),
                "times_triggered": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i, sid in enumerate(ids[::10])
        ]
        for rows, model in ((notes, SupplierNote), (tasks, SuccessTask)):
            for start in range(0, len(rows), 5000):
                await session.execute(insert(model), rows[start : start + 5000])


async def _client(app: Any, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, "no CSRF token on the login page"
    signed = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf": token.group(1)}
    )
    assert signed.status_code == 303, signed.text
    return client


async def _timed(client: httpx.AsyncClient, paths: Sequence[str], runs: int) -> tuple[float, float]:
    """p50/p99 of ``runs`` GETs, cycling through ``paths`` (after one warm-up request)."""
    await client.get(paths[0])
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        response = await client.get(paths[i % len(paths)])
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (paths[i % len(paths)], response.status_code)
    return p50_p99(samples)


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
        for day in (today - timedelta(days=7), today):
            async with ctx.db.transaction() as session:
                await rescore_all(session=session, ctx=ctx, as_of=day)
        async with ctx.db.transaction() as session:
            batch = _batch(ids, today, ctx.clock(), seed=2)
            await churn_repository.write_predictions(session, batch, rates=ctx.settings.rates)
        managers = await _team(ctx)
        await _workspace(ctx, ids, managers)
        await ctx.db.refresh_statistics()
        if backend == "postgresql":  # what autovacuum does within a minute of the bulk load
            with pg_connect(db.url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        out["seeding"] = time.perf_counter() - started

        app = create_app(context=ctx, run_dispatcher=False)
        admin = await _client(app, ADMIN)
        manager = await _client(app, "manager0@bench.example")
        try:
            first = await manager.get("/suppliers")
            found = re.search(r'id="match-count" data-total="(\d+)"', first.text)
            out["mine"] = int(found.group(1)) if found else 0
            # Manager 0 owns every tenth account from the first, each with notes and a task.
            theirs = ids[: len(ids) * 9 // 10 : MANAGERS][:runs]
            profiles = [f"/suppliers/{sid}" for sid in theirs]
            api = [f"/api/v1/suppliers/{sid}" for sid in theirs]
            key = await _read_key(ctx)
            timings: dict[str, tuple[float, float]] = {}
            plan: list[tuple[str, httpx.AsyncClient, Sequence[str]]] = [
                ("GET /healthz (baseline)", admin, ["/healthz"]),
                ("list: admin default (everyone, priority, count)", admin, ["/suppliers"]),
                ("list: admin, exact count on request", admin, ["/suppliers?count=all"]),
                ("list: manager default (My accounts)", manager, ["/suppliers"]),
                (
                    "list: My accounts, critical venues",
                    manager,
                    ["/suppliers?risk_level=critical&vendor_type=venue"],
                ),
                ("list: My accounts, by name", manager, ["/suppliers?sort=name"]),
                ("list: nobody's accounts", admin, ["/suppliers?owner=none"]),
                ("list: everyone's, churn band high", admin, ["/suppliers?churn_band=high"]),
                ("profile page (owned, notes, task, churn)", manager, profiles),
                ("My tasks", manager, ["/tasks"]),
            ]
            for label, client, paths in plan:
                timings[label] = await _timed(client, paths, runs)
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {key}"},
            )
            async with client:
                timings["profile JSON /api/v1 (baseline)"] = await _timed(client, api, runs)
            out["pages"] = timings
        finally:
            await admin.aclose()
            await manager.aclose()
    finally:
        await ctx.close()
        db.drop()
    return out


async def _read_key(ctx: AppContext) -> str:
    async with ctx.db.transaction() as session:
        key = await create_key(session=session, name="bench-api", scopes=["read"], now=ctx.clock())
    return key.secret


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
        console.print(
            f"seeding (suppliers, two rescores, predictions, team, notes, tasks): "
            f"{fmt_s(out['seeding'])}; the manager's My accounts holds {out['mine']:,}"
        )
        table = Table("page", "p50", "p99", "goal")
        for label, (p50, p99) in out["pages"].items():
            baseline = "baseline" in label or "on request" in label or label == "My tasks"
            table.add_row(
                label,
                fmt_ms(p50),
                fmt_ms(p99) if baseline else fmt_goal(p99, GOAL),
                "" if baseline else f"p99 < {fmt_ms(GOAL)}",
            )
        console.print(table)
    console.print(f"\nas of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
