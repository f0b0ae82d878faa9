"""``wedsync-success segments …``: list segments, read one, evaluate them, export members."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wedsync_success.kit.cli import console, run

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.segments.schemas import Evaluation, MemberPage, SegmentOut

segments_app = typer.Typer(
    help="Behavioural segments: groups of active suppliers defined by a rule (the segments "
    "file, WEDSYNC_SEGMENTS_CONFIG, and the API), evaluated after every health recompute. "
    "Entering or leaving one emits segment.entered / segment.exited. See docs/segments.md.",
    no_args_is_help=True,
)

KeyArg = Annotated[str, typer.Argument(help="The segment's key, e.g. onboarding_stalled")]


@segments_app.command("list")
def list_segments() -> None:
    """Every segment, where it is defined (file or api) and how many members it has now."""

    async def work(ctx: AppContext) -> list[SegmentOut]:
        from wedsync_success.segments import service

        async with ctx.db.sessions() as session:
            return await service.list_segments(session=session, catalog=ctx.segments)

    table = Table("key", "name", "source", "members", "latest entry")
    for s in run(work):
        latest = s.last_entered_at.strftime("%Y-%m-%d %H:%M") if s.last_entered_at else "-"
        table.add_row(s.key, escape(s.name), s.source.value, str(s.member_count), latest)
    console.print(table)


@segments_app.command("show")
def show(key: KeyArg) -> None:
    """A segment's definition (its rule as JSON) and member count."""

    async def work(ctx: AppContext) -> SegmentOut:
        from wedsync_success.segments import service

        async with ctx.db.sessions() as session:
            return await service.get_segment(session=session, catalog=ctx.segments, key=key)

    segment = run(work)
    console.print(f"[bold]{escape(segment.name)}[/] ({segment.key}, from the {segment.source})")
    if segment.description:
        console.print(escape(segment.description))
    console.print(f"members: {segment.member_count}")
    console.print_json(json.dumps(segment.rules))


@segments_app.command("evaluate")
def evaluate(
    key: Annotated[
        list[str] | None, typer.Option("--key", help="Only this segment (repeatable)")
    ] = None,
) -> None:
    """Evaluate segments over every supplier now, in one transaction: who entered and who
    left, each with its success event in the outbox (a running server's dispatcher sends
    them). Health recomputes already do this for the suppliers they score.

    Example: `segments evaluate --key onboarding_stalled`.
    """

    async def work(ctx: AppContext) -> list[Evaluation]:
        from wedsync_success.segments import service

        async with ctx.db.transaction() as session:
            return await service.evaluate(
                session=session, catalog=ctx.segments, now=ctx.clock(), keys=key
            )

    table = Table("key", "entered", "exited", "members")
    for e in run(work):
        table.add_row(e.key, str(e.entered), str(e.exited), str(e.members))
    console.print(table)


@segments_app.command("members")
def members(
    key: KeyArg,
    csv: Annotated[
        bool, typer.Option("--csv", help="Every member as CSV on standard output")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Members shown (without --csv)")] = 50,
) -> None:
    """A segment's members (supplier id order). `--csv > members.csv` exports them all."""
    if csv:

        async def export(ctx: AppContext) -> None:
            from wedsync_success.segments import service

            async with ctx.db.sessions() as session:
                async for chunk in service.members_csv(
                    session=session, catalog=ctx.segments, key=key
                ):
                    sys.stdout.write(chunk)

        run(export)
        return

    async def work(ctx: AppContext) -> MemberPage:
        from wedsync_success.segments import service

        async with ctx.db.sessions() as session:
            return await service.members(
                session=session, catalog=ctx.segments, key=key, cursor=None, limit=limit
            )

    page = run(work)
    table = Table("supplier", "name", "vendor type", "plan", "country", "entered")
    for m in page.items:
        table.add_row(
            m.external_id or str(m.supplier_id),
            escape(m.business_name),
            m.vendor_type,
            m.plan_tier,
            m.country,
            m.entered_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total} members")
