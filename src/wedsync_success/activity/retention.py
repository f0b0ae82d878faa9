"""Raw-event retention: ``events prune`` removes raw events older than the retention
window, month by whole month, optionally archiving each month first.

PostgreSQL: each month is a partition (migration 0020), detached and dropped whole:
instant, and no dead rows for a vacuum to clear. Rows in the default partition (none, unless
a partition was missing) and every row on SQLite are deleted in chunks of their own
transactions, so writers are never held long.

With an archive folder, each month is first written to a gzip CSV file
(``activity_events_2024-01.csv.gz``, in the columns ``import events`` reads) and listed in
``manifest.json`` with its event count and SHA-256. Files are never overwritten: a prune
run again after a crash writes a further file for a month, and importing both recognises
the repeated events as duplicates.

Rollups (``daily_rollups``, ``supplier_event_totals``), health scores and churn features are
computed from the rollups and stay as they are. What does read raw events loses the pruned
months: a supplier's latest events and last-seen times (recent anyway), the time of the Nth
event for a milestone not yet achieved (achieved ones are stored), and plan changes for
churn training cutoffs inside the pruned months.

Before removing anything, the horizon is recorded (``raw_event_horizon``), under the
population lock: an import that starts afterwards refuses events dated before it, which may
have been stored, rolled up and pruned (storing them again would count them twice). An
import already running holds its suppliers' locks until it commits, so the horizon waits
for it, and its events, stored before the removal starts, are removed with the others.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from wedsync_success.activity import repository
from wedsync_success.context import AppContext
from wedsync_success.db.locks import lock_population

PRUNE_CHUNK = 20_000
"""Events deleted per transaction: short transactions, so writers are never held long."""


def horizon(today: date, months: int) -> datetime:
    """The first instant (UTC) of the month ``months`` before ``today``'s: raw events from
    then on are kept (the current month and ``months`` before it)."""
    index = today.year * 12 + (today.month - 1) - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


MANIFEST = "manifest.json"


@dataclass
class PruneReport:
    """What ``events prune`` removed (and archived)."""

    deleted: int = 0
    months: list[str] = field(default_factory=list)
    """The months removed, ``YYYY-MM``."""
    archived: list[Path] = field(default_factory=list)


async def prune_raw_events(
    ctx: AppContext,
    *,
    before: datetime,
    archive: Path | None = None,
    chunk: int = PRUNE_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> PruneReport:
    """Record ``before`` as the horizon, then remove every raw event before it, month by
    month (archived into ``archive`` first when given)."""
    async with ctx.db.transaction() as session:
        await lock_population(session)
        await repository.raise_pruned_before(session, before)
    async with ctx.db.sessions() as session:
        months = await repository.months_before(session, before)
        partitioned = session.get_bind().dialect.name == "postgresql"
        partitions = await repository.month_partitions(session)
    report = PruneReport(months=[f"{m:%Y-%m}" for m in months])
    if archive is not None:
        report.archived = [await _archive_month(ctx, month, archive) for month in months]
    for month in sorted(m for m in partitions if m < before):  # empty ones too
        async with ctx.db.transaction() as session:
            report.deleted += await repository.drop_month_partition(session, month)
        if progress is not None:
            progress(report.deleted)
    while True:  # what no partition held: SQLite, or PostgreSQL's default partition
        async with ctx.db.transaction() as session:
            gone = await repository.delete_events_before(session, before, limit=chunk)
        report.deleted += gone
        if progress is not None:
            progress(report.deleted)
        if gone < chunk:
            break
    if partitioned:  # the coming months' partitions, so that live ingest never creates one
        this_month = repository.month_start(ctx.clock())
        async with ctx.db.transaction() as session:
            await repository.ensure_month_partitions(
                session, [this_month, repository.next_month(this_month)]
            )
    return report


async def _archive_month(ctx: AppContext, month: datetime, folder: Path) -> Path:
    """Write ``month``'s raw events to a new gzip CSV file in ``folder`` and list it in the
    manifest; the file's path. Written under a temporary name, then renamed: a file that
    is there is whole."""
    path = _new_file(folder, f"activity_events_{month:%Y-%m}")
    partial = path.with_name(path.name + ".partial")
    with _gzip_writer(partial) as gz:

        def write(data: bytes) -> None:
            gz.write(data)

        async with ctx.db.sessions() as session:
            events = await repository.archive_month(session, month, write)
    os.replace(partial, path)
    _add_to_manifest(
        folder,
        {
            "file": path.name,
            "month": f"{month:%Y-%m}",
            "events": events,
            "sha256": _sha256(path),
            "columns": list(repository.ARCHIVE_COLUMNS),
            "archived_at": ctx.clock().isoformat(),
        },
    )
    return path


def _new_file(folder: Path, stem: str) -> Path:
    """A name in ``folder`` (created if need be) no file has: ``stem.csv.gz``, else
    ``stem.2.csv.gz``, …"""
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{stem}.csv.gz", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}.{n}.csv.gz"
    return path


def _gzip_writer(path: Path) -> gzip.GzipFile:
    """``path`` open for writing gzip (a command's file: blocking writes are its work)."""
    return gzip.GzipFile(path, mode="wb")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _add_to_manifest(folder: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` to the folder's manifest (rewritten whole, then renamed)."""
    manifest = folder / MANIFEST
    content: dict[str, Any] = (
        json.loads(manifest.read_text())
        if manifest.exists()
        else {"kind": "wedsync-success raw events", "format": "csv.gz", "files": []}
    )
    content["files"].append(entry)
    partial = manifest.with_name(MANIFEST + ".partial")
    partial.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(partial, manifest)
