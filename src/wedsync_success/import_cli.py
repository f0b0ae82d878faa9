"""``wedsync-success import …``: load events and suppliers from CSV or JSON Lines files.

Every import reads its file in batches (``kit.files``), writes each batch in its own
transaction, reports every rejected line with its number, field and reason, and keeps its
report whatever fails on the way: what was stored stays stored, and importing the file
again is safe (events are recognised by ``event_id``, suppliers by ``external_id``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wedsync_success.kit.cli import console, err_console, parse_zone, progress_bar
from wedsync_success.kit.cli import run as _run
from wedsync_success.kit.collector import bulk_job

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from wedsync_success.context import AppContext
    from wedsync_success.kit.batch import RejectedItem
    from wedsync_success.kit.files import FileBatch

import_app = typer.Typer(
    help="Import activity events, suppliers, subscription history and survey responses from "
    "CSV or JSON Lines.",
    no_args_is_help=True,
)

ErrorsOut = Annotated[Path | None, typer.Option(help="Also write rejected lines here (CSV)")]


@dataclass
class ImportReport:
    """What an import did, kept whole whatever fails on the way."""

    stored: dict[str, int] = field(default_factory=dict)
    """Counts by outcome in the order they are printed ("accepted", "duplicates"…)."""
    batches: int = 0
    rejected: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    rescored: int | None = None
    """Suppliers rescored once at the end (None: nothing was stored, or rescoring failed)."""
    stopped: str | None = None
    """Why the import stopped before the end of the file (the batches before it are stored)."""
    undelivered: str | None = None
    """Why delivering the success events afterwards failed (they wait in the outbox)."""
    compacted: int = 0
    """Months whose per-supplier index was built afresh after the import (``--history``)."""
    uncompacted: str | None = None
    """Why that failed (the data is stored all the same; the index is only larger)."""


@dataclass(frozen=True)
class _Written:
    """What one batch's transaction did."""

    counts: dict[str, int]
    errors: Sequence[RejectedItem]
    touched: Sequence[uuid.UUID]
    """Suppliers whose scores the batch may have changed (rescored once at the end)."""
    added: int | None = None
    """Rows the batch added (None: every row it counts): as they add up, the planner's
    statistics are refreshed (see :data:`FIRST_ANALYZE_AT`)."""
    tables: Sequence[str] = ()
    """The tables the batch grows, whose statistics those refreshes update (empty: all)."""


Write = Callable[["AsyncSession", list[Any]], Awaitable[_Written]]


EVENT_TABLES = ("activity_events", "daily_rollups", "supplier_event_totals")
"""What ``import events`` grows (the statistics refreshed as it does: see ``refresh_plans``)."""


def event_writer(ctx: AppContext, *, max_batch_size: int | None = None) -> Write:
    """Store and roll up a batch of events (:func:`pipeline.store`), without rescoring;
    batches may hold up to ``max_batch_size`` events (default: the API's limit)."""

    async def write(session: AsyncSession, items: list[Any]) -> _Written:
        from wedsync_success.activity.repository import use_bulk_cache
        from wedsync_success.pipeline import store

        await use_bulk_cache(session)
        stored = await store(session=session, ctx=ctx, items=items, max_batch_size=max_batch_size)
        result = stored.result
        return _Written(
            counts={"accepted": result.accepted, "duplicates": result.duplicates},
            errors=result.errors,
            touched=stored.affected_supplier_ids,
            added=result.accepted,  # duplicates grow nothing: no statistics to refresh
            tables=EVENT_TABLES,
        )

    return write


SUPPLIER_TABLES = ("suppliers", "supplier_users", "supplier_name_words")
"""What ``import suppliers`` grows."""


def supplier_writer(ctx: AppContext) -> Write:
    """Create or update a batch of suppliers by external id, and reprice their churn."""

    async def write(session: AsyncSession, items: list[Any]) -> _Written:
        from wedsync_success.pipeline import reprice_churn
        from wedsync_success.suppliers.service import import_batch

        result = await import_batch(session=session, items=items, now=ctx.clock())
        # A supplier whose row was not written has the MRR and currency it was priced at.
        await reprice_churn(session=session, ctx=ctx, supplier_ids=result.written)
        return _Written(
            counts={"created": result.created, "updated": result.updated},
            errors=result.errors,
            touched=result.ids,
            added=result.created,
            tables=SUPPLIER_TABLES,
        )

    return write


PERIOD_TABLES = ("subscription_periods", "supplier_coverage")
"""What ``import subscriptions`` grows."""


def period_writer(ctx: AppContext) -> Write:
    """Store a batch of subscription periods and derive the suppliers' subscriptions."""

    async def write(session: AsyncSession, items: list[Any]) -> _Written:
        from wedsync_success.pipeline import reprice_churn
        from wedsync_success.suppliers.history import import_periods

        result = await import_periods(session=session, items=items, now=ctx.clock())
        await reprice_churn(session=session, ctx=ctx, supplier_ids=result.supplier_ids)
        return _Written(
            counts={"created": result.created, "updated": result.updated},
            errors=result.errors,
            touched=result.supplier_ids,
            added=result.created,
            tables=PERIOD_TABLES,
        )

    return write


def survey_writer(ctx: AppContext) -> Write:
    """Store a batch of survey responses (each once, by response_id)."""

    async def write(session: AsyncSession, items: list[Any]) -> _Written:
        from wedsync_success.surveys.schemas import ResponseSource
        from wedsync_success.surveys.service import record_responses

        result = await record_responses(
            session=session,
            items=items,
            source=ResponseSource.IMPORT,
            max_batch_size=len(items),
            now=ctx.clock(),
        )
        return _Written(
            counts={"accepted": result.accepted, "duplicates": result.duplicates},
            errors=result.errors,
            touched=(),
        )

    return write


SUPPLIER_BATCH_SIZE = 5000
"""Suppliers per batch of ``import suppliers`` by default, the most a batch may hold
(``suppliers.service.MAX_IMPORT_BATCH``): each batch costs its locks and a handful of
set-based statements (and on PostgreSQL a transaction; on SQLite several batches share one,
:data:`SQLITE_SUPPLIERS_PER_COMMIT`), so fewer, larger batches cost less (measured in
benchmarks/README.md)."""


PERIOD_BATCH_SIZE = 2000
"""Periods per batch of ``import subscriptions`` by default: each batch is checked, merged
and derived in a few set-based statements, so the cost per batch (a transaction, a dozen
round trips, the repricing) is what smaller batches multiply; on SQLite 5,000 was slower
again (the window sorts of the derivation grow faster than the batch). Measured in
benchmarks/README.md."""


FIRST_ANALYZE_AT = 2_000
"""Rows stored before the planner's statistics are first refreshed during an import, then
again each time the count doubles (a few times per import: see ``Database.refresh_plans``).
Those refreshes are quick ones, to re-plan; an import that made any ends with a full one,
so it leaves the statistics ANALYZE would."""


SQLITE_EVENTS_PER_COMMIT = 50_000
"""Events of ``import events`` per transaction on SQLite (whole batches: ten of 5,000, one
of 50,000 with ``--history``). Each commit there writes every page the batch touched to the
write-ahead log and checkpoints it into the database: the rollup and (supplier, time) index
pages that batch after batch touch again were written once per batch, 37 % of an import of
history. 50,000 events hold the write lock for a second or two; a crash loses only the
uncommitted group, events and rollups together. PostgreSQL keeps one batch per
transaction: its commits cost 2 %, and advisory locks gathered over several batches could
deadlock against a concurrent writer."""


HISTORY_BATCH_SIZE = 50_000
"""Events per batch of ``import events --history`` by default. A batch costs a fixed
couple of dozen statements (type codes, supplier checks, locks, partitions, the merge, the
feature store, the outbox reads) and its supplier totals are upserted once per (supplier,
type) it holds: ten times the API's 5,000 cut both (on PostgreSQL the totals' upserts fell
from 0.93 to about 0.5 per event). A batch holds the population lock while it is written."""
MAX_HISTORY_BATCH_SIZE = 200_000
"""The largest ``--batch-size`` with ``--history`` (memory: a batch's items are held whole)."""


SQLITE_SUPPLIERS_PER_COMMIT = 20_000
"""Lines of ``import suppliers`` per transaction on SQLite (four batches of 5,000), for the
same reason as :data:`SQLITE_EVENTS_PER_COMMIT`: the pages of the suppliers' seven indexes
and of their search words, keyed by random ids and names, are touched again by every batch,
and each commit wrote them all again (a first import of 20,000: 1.13 s in four commits,
1.06 s in one, 8 December 2026). 20,000 lines hold the write lock about a second."""


def event_batches_per_commit(dialect: str, batch_size: int = 5000) -> int:
    """How many batches of ``batch_size`` events ``import events`` writes per transaction on
    a ``dialect`` database: on SQLite as many as make :data:`SQLITE_EVENTS_PER_COMMIT`."""
    return _batches_per_commit(dialect, batch_size, SQLITE_EVENTS_PER_COMMIT)


def supplier_batches_per_commit(dialect: str, batch_size: int) -> int:
    """How many batches of ``batch_size`` lines ``import suppliers`` writes per transaction
    on a ``dialect`` database: on SQLite as many as make :data:`SQLITE_SUPPLIERS_PER_COMMIT`."""
    return _batches_per_commit(dialect, batch_size, SQLITE_SUPPLIERS_PER_COMMIT)


def _batches_per_commit(dialect: str, batch_size: int, per_commit: int) -> int:
    return 1 if dialect != "sqlite" else max(1, per_commit // batch_size)


async def event_partitions(ctx: AppContext) -> set[str]:
    """PostgreSQL: the partitions of ``activity_events`` (one per month, and the default)."""
    from wedsync_success.activity.repository import supplier_time_indexes

    async with ctx.db.engine.connect() as connection:
        return set(await supplier_time_indexes(connection))


async def compact_new_partitions(
    ctx: AppContext, report: ImportReport, *, before: set[str]
) -> None:
    """PostgreSQL, after ``import events --history``: build afresh the per-supplier index of
    every month partition the import created (those not in ``before``), which the import
    left a third empty (:func:`activity.repository.compact_supplier_time_index`). Months
    that held events before are left alone: rebuilding them would cost in proportion to
    what they held, not to what the import added."""
    from wedsync_success.activity.repository import compact_supplier_time_index

    created = sorted((await event_partitions(ctx)) - before)
    try:
        async with ctx.db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for partition in created:
                await compact_supplier_time_index(autocommit, partition)
                report.compacted += 1
    except Exception as exc:  # the events are stored: only the index stays larger
        report.uncompacted = _describe(exc)


def _groups(batches: Iterator[FileBatch], size: int) -> Iterator[list[FileBatch]]:
    """``batches`` in lists of ``size`` (the last may be shorter)."""
    while group := list(islice(batches, size)):
        yield group


async def run_import(
    ctx: AppContext,
    *,
    batches: Iterator[FileBatch],
    lines: int,
    write: Write,
    batches_per_commit: int = 1,
) -> ImportReport:
    """Write every batch, then rescore what they touched once and deliver the success events.

    ``batches_per_commit`` batches share a transaction (see
    :data:`SQLITE_EVENTS_PER_COMMIT`): what they stored counts in the report once it
    is committed; if one fails, the whole group is rolled back and the import stops there."""
    from wedsync_success.kit.errors import WedSyncError
    from wedsync_success.pipeline import rescore_touched

    report = ImportReport()
    touched: set[uuid.UUID] = set()
    added, next_analyze = 0, FIRST_ANALYZE_AT
    refreshed: Sequence[str] | None = None  # the tables quickly analysed, to analyse fully
    with bulk_job(), progress_bar() as bar:
        task = bar.add_task("lines", total=lines)
        try:
            for group in _groups(iter(batches), batches_per_commit):
                report.batches += len(group)
                for batch in group:
                    report.problems.extend((line, "", why) for line, why in batch.unreadable)
                    report.rejected += len(batch.unreadable)
                done: list[tuple[FileBatch, _Written]] = []
                if any(batch.items for batch in group):
                    async with ctx.db.transaction() as session:
                        for batch in group:
                            if batch.items:
                                done.append((batch, await write(session, batch.items)))
                for batch, written in done:
                    touched.update(written.touched)
                    for name, count in written.counts.items():
                        report.stored[name] = report.stored.get(name, 0) + count
                    report.rejected += len(written.errors)
                    report.problems.extend(
                        (batch.lines[e.index], e.field, e.reason) for e in written.errors
                    )
                    grew = written.added
                    added += sum(written.counts.values()) if grew is None else grew
                if done and added >= next_analyze:
                    refreshed = done[-1][1].tables
                    await ctx.db.refresh_plans(refreshed, quick=True)
                    while next_analyze <= added:
                        next_analyze *= 2
                bar.update(task, completed=group[-1].last_line)
            bar.update(task, completed=lines)
            if refreshed is not None:
                await ctx.db.refresh_plans(refreshed)
        except WedSyncError as exc:
            if not report.batches:  # the file itself is refused (format, CSV header)
                raise
            report.stopped = _describe(exc)
        except Exception as exc:  # what was stored stays stored: report it all the same
            report.stopped = _describe(exc)
        if touched:
            rescoring = bar.add_task("rescoring", total=None)
            try:
                async with ctx.db.transaction() as session:
                    await rescore_touched(
                        session=session, ctx=ctx, supplier_ids=touched, as_of=ctx.clock().date()
                    )
                report.rescored = len(touched)
            except Exception as exc:
                report.stopped = report.stopped or f"rescoring failed: {_describe(exc)}"
            bar.update(rescoring, total=1, completed=1)
    try:
        await ctx.db.refresh_statistics()
        await ctx.dispatcher.drain()
    except Exception as exc:  # a dispatch failure must not lose the import's report
        report.undelivered = _describe(exc)
    return report


def _finish(report: ImportReport, errors_out: Path | None) -> None:
    """Print the report and exit: 0 when every line was stored (or already was), 2 when
    some were rejected, 1 when the import stopped early or its events were not delivered."""
    print_import_report(report, errors_out)
    if report.stopped or report.undelivered:
        raise typer.Exit(1)
    if report.problems:
        raise typer.Exit(2)


@import_app.command("events")
def import_events(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A .csv or .jsonl file of events"
        ),
    ],
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_HISTORY_BATCH_SIZE,
            help="Events per batch [default: WEDSYNC_MAX_BATCH_SIZE, 5000; with --history "
            "50,000]; above WEDSYNC_MAX_BATCH_SIZE only with --history",
        ),
    ] = None,
    errors_out: ErrorsOut = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA zone (Europe/London) of occurred_at values written without an offset; "
            "without it such lines are rejected"
        ),
    ] = None,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="The file is a history export: write it in larger batches (50,000 events), "
            "and on PostgreSQL compact the per-supplier index of the months it filled",
        ),
    ] = False,
) -> None:
    """Import activity events from FILE, reporting every rejected line.

    CSV columns: event_id, supplier_id (or supplier_external_id), user_id, type,
    occurred_at, properties (a JSON object); any other column is added to properties.
    JSONL: one event object per line. Re-importing a file is safe: events already stored
    are counted as duplicates. Batches are stored and rolled up as they are read (on
    PostgreSQL each in its own transaction, on SQLite 50,000 events to a transaction); the
    suppliers they touched are rescored once, at the end (as of today). An import that
    stops keeps what it committed, events and rollups together: run it again to store the
    rest. --history (a large export loaded once) writes batches of 50,000 events, each
    holding every supplier's write lock while it is written, so live ingest waits for it.

    Exit status: 0 when every line was stored (or already was), 2 when some lines were
    rejected, 1 when the import stopped early or its success events could not be delivered
    (the report is printed, and written to --errors-out, in every case).
    """
    from wedsync_success.activity.importer import read_batches
    from wedsync_success.kit.files import count_lines

    zone = parse_zone(timezone, "--timezone")
    lines = count_lines(file)

    async def work(ctx: AppContext) -> ImportReport:
        # Each batch is one transaction: the largest the service takes costs the least.
        limit = ctx.settings.max_batch_size
        size = batch_size or (HISTORY_BATCH_SIZE if history else limit)
        if size > limit and not history:
            raise typer.BadParameter(
                f"at most WEDSYNC_MAX_BATCH_SIZE ({limit:,}) without --history",
                param_hint="--batch-size",
            )
        batches = read_batches(file, batch_size=size, timezone=zone)
        compacting = history and ctx.db.dialect == "postgresql"
        before = await event_partitions(ctx) if compacting else set()
        report = await run_import(
            ctx,
            batches=batches,
            lines=lines,
            write=event_writer(ctx, max_batch_size=max(size, limit)),
            batches_per_commit=event_batches_per_commit(ctx.db.dialect, size),
        )
        if compacting:
            await compact_new_partitions(ctx, report, before=before)
        return report

    _finish(_run(work), errors_out)


@import_app.command("suppliers")
def import_suppliers(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A .csv or .jsonl file of suppliers"
        ),
    ],
    # max: suppliers.service.MAX_IMPORT_BATCH (not imported here: the CLI starts lazily)
    batch_size: Annotated[
        int, typer.Option(min=1, max=5000, help="Suppliers per batch")
    ] = SUPPLIER_BATCH_SIZE,
    errors_out: ErrorsOut = None,
) -> None:
    """Create or update suppliers from FILE, matched on their external_id.

    CSV columns: external_id, business_name, vendor_type, country, signed_up_at, and any of
    plan_tier, mrr_minor, currency, subscription_status, subscription_started_at,
    subscription_ended_at, cancellation_reason, acquisition_channel, time_zone,
    account_owner_id, and the users:
    a users column (a JSON list) or user_email, user_name, user_phone for one contact.
    JSONL: one supplier object per line, as POST /api/v1/suppliers takes it. A field a line
    leaves out keeps the supplier's current value (a new supplier: plan free, MRR 0, active
    since signup); users are replaced only when the line lists them. Importing the same
    file again changes nothing.

    Exit status: 0 when every line was stored, 2 when some lines were rejected, 1 when the
    import stopped early (the report is printed, and written to --errors-out, in every case).
    """
    from wedsync_success.kit.files import count_lines
    from wedsync_success.suppliers.importer import read_batches

    lines = count_lines(file)

    async def work(ctx: AppContext) -> ImportReport:
        return await run_import(
            ctx,
            batches=read_batches(file, batch_size=batch_size),
            lines=lines,
            write=supplier_writer(ctx),
            batches_per_commit=supplier_batches_per_commit(ctx.db.dialect, batch_size),
        )

    _finish(_run(work), errors_out)


@import_app.command("subscriptions")
def import_subscriptions(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A .csv or .jsonl file of billed subscription periods",
        ),
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, max=5000, help="Periods per batch")
    ] = PERIOD_BATCH_SIZE,
    errors_out: ErrorsOut = None,
) -> None:
    """Load subscription history from FILE: one row per billed period, as billing exports it.

    Columns: supplier_external_id, plan (free, starter, professional, scale), start_date,
    end_date (empty: still open), mrr_minor, currency, and optionally quantity,
    discount_minor, bill_period_months. Dates are YYYY-MM-DD (midnight UTC) or ISO instants
    with an offset; a period is [start, end). A supplier may hold several subscriptions at
    once, but two periods of the same plan may not overlap. Each supplier's current
    subscription (status, plan, MRR, currency, since when, until when) is then derived from
    its periods: covered today, it is a customer; a gap after its last period is a churn.
    Importing the same file again updates the same periods.

    Exit status: 0 when every line was stored, 2 when some lines were rejected, 1 when the
    import stopped early (the report is printed, and written to --errors-out, in every case).
    """
    from wedsync_success.kit.files import count_lines
    from wedsync_success.suppliers.importer import read_period_batches

    lines = count_lines(file)

    async def work(ctx: AppContext) -> ImportReport:
        batches = read_period_batches(file, batch_size=batch_size)
        return await run_import(ctx, batches=batches, lines=lines, write=period_writer(ctx))

    _finish(_run(work), errors_out)


@import_app.command("surveys")
def import_surveys(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A .csv or .jsonl file of NPS and CSAT responses",
        ),
    ],
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="Responses per batch")] = 1000,
    errors_out: ErrorsOut = None,
) -> None:
    """Import NPS and CSAT responses from FILE (a survey tool's export).

    Columns: response_id (your tool's id of the response), kind (nps or csat), score (NPS
    0-10, CSAT 1-5), supplier_id or supplier_external_id, responded_at (ISO 8601 with an
    offset), and optionally comment (at most 2,000 characters) and supplier_user_id. JSONL:
    one response object per line, as POST /api/v1/surveys/responses takes it. Re-importing
    a file is safe: responses already stored are counted as duplicates. Detractors (NPS
    0-6) and low CSATs (1-2) become success events, which playbooks can act on.

    Exit status: 0 when every line was stored (or already was), 2 when some lines were
    rejected, 1 when the import stopped early (the report is printed, and written to
    --errors-out, in every case).
    """
    from wedsync_success.kit.files import count_lines
    from wedsync_success.surveys.importer import read_batches

    lines = count_lines(file)

    async def work(ctx: AppContext) -> ImportReport:
        batches = read_batches(file, batch_size=batch_size)
        return await run_import(ctx, batches=batches, lines=lines, write=survey_writer(ctx))

    _finish(_run(work), errors_out)


def _describe(exc: Exception) -> str:
    """An exception in one line: application errors by their message, others by their kind."""
    from wedsync_success.kit.errors import WedSyncError

    if isinstance(exc, WedSyncError):
        details = "; ".join(
            f"{d.get('field', '')}: {d.get('reason', '')}" for d in exc.details or []
        )
        return f"{exc.message} ({details})" if details else exc.message
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0]}" if first else type(exc).__name__


def print_import_report(report: ImportReport, errors_out: Path | None) -> None:
    """Totals, the rejected lines (verbatim: never read as markup) and what went wrong."""
    counts = [f"{n:,} {name}" for name, n in report.stored.items()]
    if counts:
        counts[0] = f"[green]{counts[0]}[/]"
    console.print(
        ", ".join([*counts, f"[red]{report.rejected:,} rejected[/]"])
        + "."
        + (f" {report.rescored:,} suppliers rescored." if report.rescored else "")
    )
    problems = sorted(report.problems)
    if problems:
        table = Table("line", "field", "reason", title="Rejected lines")
        for line, name, reason in problems[:50]:
            table.add_row(str(line), Text(name), Text(reason))
        console.print(table)
        if len(problems) > 50:
            console.print(f"… and {len(problems) - 50:,} more.")
        if errors_out:
            import csv

            with errors_out.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["line", "field", "reason"])
                writer.writerows(problems)
            console.print(f"All rejected lines written to {escape(str(errors_out))}.")
    if report.compacted:
        console.print(f"The per-supplier index of {report.compacted:,} new months was compacted.")
    if report.uncompacted:
        err_console.print(
            f"[yellow]Compacting the per-supplier index failed:[/] {escape(report.uncompacted)}"
            "\nThe events are stored; the index only takes more room (REINDEX rebuilds it).",
            highlight=False,
        )
    if report.stopped:
        err_console.print(
            f"[bold red]The import stopped:[/] {escape(report.stopped)}\n"
            "The batches reported above are stored; importing the file again recognises "
            "them and carries on.",
            highlight=False,
        )
    if report.undelivered:
        err_console.print(
            f"[bold red]The data is stored, but delivering its success events failed:[/] "
            f"{escape(report.undelivered)}\nThey wait in the outbox: a running server "
            "delivers them, or run `wedsync-success events dispatch`.",
            highlight=False,
        )
