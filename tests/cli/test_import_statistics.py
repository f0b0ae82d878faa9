"""An import refreshes the planner's statistics of the tables it grows, as they grow: only
those tables, and not when a batch adds no row (a re-import)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from wedsync_success import import_cli
from wedsync_success.context import AppContext
from wedsync_success.db.engine import Database
from wedsync_success.suppliers.importer import read_batches

CSV = "external_id,business_name,vendor_type,country,signed_up_at\n" + "".join(
    f"s-{i},Studio {i},photographer,GB,2025-01-0{i + 1}T00:00:00Z\n" for i in range(4)
)


async def test_statistics_follow_the_rows_added_and_name_the_tables(
    ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[tuple[str, ...], bool]] = []

    async def spy(self: Database, tables: Sequence[str] = (), *, quick: bool = False) -> None:
        calls.append((tuple(tables), quick))

    monkeypatch.setattr(Database, "refresh_plans", spy)
    monkeypatch.setattr(import_cli, "FIRST_ANALYZE_AT", 2)
    path = tmp_path / "suppliers.csv"
    path.write_text(CSV)

    async def run() -> import_cli.ImportReport:
        return await import_cli.run_import(
            ctx,
            batches=read_batches(path, batch_size=2),
            lines=5,
            write=import_cli.supplier_writer(ctx),
        )

    first = await run()
    assert first.stored == {"created": 4, "updated": 0}
    tables = import_cli.SUPPLIER_TABLES
    # Quick ones at 2 rows added, then at 4; a full one once the import is done.
    assert calls == [(tables, True), (tables, True), (tables, False)]
    calls.clear()
    again = await run()
    assert again.stored == {"created": 0, "updated": 4}
    assert calls == []  # nothing grew


async def test_refresh_plans_analyses_only_the_tables_named(ctx: AppContext) -> None:
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite plans each statement afresh: nothing to refresh")

    async def manual_analyses() -> dict[str, int]:
        async with ctx.db.sessions() as session:  # a new transaction: fresh statistics
            rows = await session.execute(
                text(
                    "SELECT relname, analyze_count FROM pg_stat_user_tables "
                    "WHERE relname IN ('suppliers', 'supplier_users')"
                )
            )
            return {name: int(count) for name, count in rows.all()}

    before = await manual_analyses()
    await ctx.db.refresh_plans(("suppliers",))
    after = await manual_analyses()
    assert after["suppliers"] == before["suppliers"] + 1
    assert after["supplier_users"] == before["supplier_users"]
    await ctx.db.refresh_plans()  # no tables named: all of them
    assert (await manual_analyses())["supplier_users"] == before["supplier_users"] + 1
    await ctx.db.refresh_plans(("suppliers",), quick=True)
    assert (await manual_analyses())["suppliers"] == before["suppliers"] + 3
    async with ctx.db.sessions() as session:  # the small sample was for that ANALYZE only
        assert await session.scalar(text("SHOW default_statistics_target")) == "100"
