"""``wedsync-success surveys …``: ask NPS and CSAT surveys, list responses, read the scores."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from wedsync_success.kit.cli import console, parse_window, progress_bar, run
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.surveys.kinds import Segment, SurveyChannel, SurveyKind

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.surveys.schemas import (
        CsatReport,
        NpsReport,
        ResponseOut,
        SurveySentOut,
    )

surveys_app = typer.Typer(
    help="NPS and CSAT surveys: ask them (through the interventions' channels, caps and "
    "preferences), list the responses, and read NPS and CSAT over time and by segment.",
    no_args_is_help=True,
)

KindOpt = Annotated[SurveyKind, typer.Option(help="nps (0-10) or csat (1-5)")]
ChannelOpt = Annotated[SurveyChannel, typer.Option(help="email (a link per score) or in_app")]
FromOpt = Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC)")]
ToOpt = Annotated[str, typer.Option("--to", help="Day after the last, YYYY-MM-DD (exclusive)")]
PeriodOpt = Annotated[ReportPeriod, typer.Option(help="week (ISO, from Monday), month or quarter")]
ByOpt = Annotated[Segment, typer.Option(help="none, vendor_type, plan, country or trigger")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON")]


@surveys_app.command("send")
def send(
    supplier: Annotated[
        list[str] | None,
        typer.Argument(help="Supplier ids or external ids; none with --due: those due"),
    ] = None,
    kind: KindOpt = SurveyKind.NPS,
    channel: ChannelOpt = SurveyChannel.EMAIL,
    due: Annotated[
        bool,
        typer.Option(
            "--due", help="Ask every active customer not asked this kind within its interval"
        ),
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="At most this many (--due)")
    ] = 1000,
) -> None:
    """Queue surveys; the worker delivers them through the same gate as every message
    (preferences, frequency cap, quiet hours), and a user asked the same kind within
    WEDSYNC_SURVEY_NPS_INTERVAL_DAYS / WEDSYNC_SURVEY_CSAT_INTERVAL_DAYS is skipped.

    Examples: `surveys send cus_123 --kind csat --channel in_app`, `surveys send --due`.
    """
    if due == bool(supplier):
        raise typer.BadParameter("give supplier ids or --due, not both", param_hint="SUPPLIER")

    async def work(ctx: AppContext) -> list[SurveySentOut]:
        from wedsync_success.interventions.channels.base import Category
        from wedsync_success.suppliers.service import resolve_supplier_ref
        from wedsync_success.surveys import service
        from wedsync_success.surveys.schemas import SendSurveyIn

        intervals = service.intervals_of(ctx.settings)
        now = ctx.clock()
        if due:
            async with ctx.db.transaction() as session:
                return await service.send_due(
                    session=session,
                    kind=kind,
                    channel=channel,
                    intervals=intervals,
                    category=Category.MARKETING,
                    limit=limit,
                    now=now,
                )
        results: list[SurveySentOut] = []
        with progress_bar() as bar:
            task = bar.add_task("surveys", total=len(supplier or []))
            for ref in supplier or []:
                async with ctx.db.transaction() as session:
                    supplier_id = await resolve_supplier_ref(session=session, ref=ref)
                    results.append(
                        await service.send_survey(
                            session=session,
                            supplier_id=supplier_id,
                            body=SendSurveyIn(kind=kind, channel=channel),
                            intervals=intervals,
                            category=Category.MARKETING,
                            sent_by=None,
                            now=now,
                        )
                    )
                bar.advance(task)
        return results

    results = run(work)
    queued = sum(1 for r in results if r.survey_id)
    console.print(
        f"[green]{queued}[/] queued, {len(results) - queued} skipped (asked recently). "
        "The worker delivers them (`wedsync-success worker --once`)."
    )


@surveys_app.command("responses")
def responses(
    kind: Annotated[SurveyKind | None, typer.Option(help="Only nps or csat")] = None,
    supplier: Annotated[
        str | None, typer.Option(help="Only this supplier (id or external id)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """The latest responses, newest first, with their comments."""

    async def work(ctx: AppContext) -> list[ResponseOut]:
        from wedsync_success.suppliers.service import resolve_supplier_ref
        from wedsync_success.surveys import service

        async with ctx.db.sessions() as session:
            supplier_id = (
                await resolve_supplier_ref(session=session, ref=supplier) if supplier else None
            )
            return await service.list_responses(
                session=session,
                kind=kind,
                supplier_id=supplier_id,
                start=None,
                end=None,
                limit=limit,
            )

    rows = run(work)
    table = Table(title="Survey responses")
    for column in ("answered", "kind", "score", "supplier", "source", "comment"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            f"{r.responded_at:%Y-%m-%d %H:%M}",
            r.kind.value,
            str(r.score),
            str(r.supplier_id)[:8],
            r.source.value,
            escape(r.comment or ""),
        )
    console.print(table)


def _window(start: str, end: str) -> tuple[date, date]:
    first, last = parse_window(start, end)
    if last <= first:
        raise typer.BadParameter("--to must be a day after --from", param_hint="--to")
    return first, last


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _print_report(
    report: NpsReport | CsatReport,
    *,
    name: str,
    columns: tuple[str, ...],
    cells: Callable[[Any], list[str]],
    as_json: bool,
) -> None:
    """A report as JSON, or as a table: a row per period and segment, then the total."""
    if as_json:
        console.print_json(json.dumps(report.model_dump(mode="json", by_alias=True)))
        return
    title = f"{name} {report.from_} to {report.to} (exclusive), by {report.by.value}"
    table = Table(title=title)
    for column in ("period", "segment", *columns):
        table.add_column(column, justify="left" if column == "segment" else "right")
    for p in report.periods:
        for f in [p.total, *p.segments]:
            table.add_row(f"{p.start}", escape(f.segment or "all"), *cells(f))
    table.add_row("total", "all", *cells(report.total), style="bold")
    console.print(table)


@surveys_app.command("nps")
def nps(
    start: FromOpt,
    end: ToOpt,
    period: PeriodOpt = ReportPeriod.MONTH,
    by: ByOpt = Segment.NONE,
    as_json: JsonOpt = False,
) -> None:
    """NPS = % promoters (9-10) - % detractors (0-6), per period of [--from, --to)."""
    first, last = _window(start, end)

    async def work(ctx: AppContext) -> NpsReport:
        from wedsync_success.surveys.metrics import nps_report

        async with ctx.db.sessions() as session:
            return await nps_report(session=session, start=first, end=last, period=period, by=by)

    _print_report(
        run(work),
        name="NPS",
        columns=("responses", "promoters", "passives", "detractors", "NPS"),
        cells=lambda f: [
            str(f.responses),
            str(f.promoters),
            str(f.passives),
            str(f.detractors),
            _figure(f.nps),
        ],
        as_json=as_json,
    )


@surveys_app.command("csat")
def csat(
    start: FromOpt,
    end: ToOpt,
    period: PeriodOpt = ReportPeriod.MONTH,
    by: ByOpt = Segment.NONE,
    as_json: JsonOpt = False,
) -> None:
    """CSAT = share of responses scoring 4-5 of 5 (percent), per period of [--from, --to)."""
    first, last = _window(start, end)

    async def work(ctx: AppContext) -> CsatReport:
        from wedsync_success.surveys.metrics import csat_report

        async with ctx.db.sessions() as session:
            return await csat_report(session=session, start=first, end=last, period=period, by=by)

    _print_report(
        run(work),
        name="CSAT",
        columns=("responses", "satisfied (4-5)", "CSAT %"),
        cells=lambda f: [str(f.responses), str(f.satisfied), _figure(f.csat)],
        as_json=as_json,
    )
