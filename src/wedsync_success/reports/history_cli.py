"""``wedsync-success report cohorts|survival|ltv|churn-breakdown``: the history reports on the
command line, as a Rich table, CSV or JSON (``--format``), printed or written to ``--out``.
``reports/cli.py`` adds these commands to its ``report`` group (:func:`add_history_commands`).
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from wedsync_success.kit.cli import console, parse_day, run

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.ext.asyncio import AsyncSession

    from wedsync_success.context import AppContext

M = TypeVar("M", bound="BaseModel")

history_app = typer.Typer()


def add_history_commands(app: typer.Typer) -> None:
    """Register the history reports' commands on ``app`` (the ``report`` group)."""
    app.registered_commands.extend(history_app.registered_commands)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", help="table (Rich, for people), csv (one row per line) or json"),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", dir_okay=False, writable=True, help="Write to FILE instead of stdout"),
]
FromOption = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (included)")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Report as of the end of this day; default today")
]


def _compute(work: Callable[[AsyncSession, AppContext], Awaitable[M]]) -> M:
    async def main(ctx: AppContext) -> M:
        async with ctx.db.sessions() as session:
            return await work(session, ctx)

    return run(main)


def _emit(
    report: BaseModel,
    *,
    fmt: OutputFormat,
    out: Path | None,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    note: str,
) -> None:
    if fmt is OutputFormat.JSON:
        text = report.model_dump_json(indent=2) + "\n"
    elif fmt is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        text = buffer.getvalue()
    else:
        table = Table(title=title, caption=note, caption_justify="left")
        for name in header:
            table.add_column(name, justify="left" if name in ("key", "cohort") else "right")
        for row in rows:
            table.add_row(*("–" if v is None else _cell(v) for v in row))
        if out is None:
            console.print(table)
            return
        with out.open("w", encoding="utf-8") as handle:
            from rich.console import Console

            Console(file=handle, width=200).print(table)
        return
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 5 else f"{value:,.2f}"
    return str(value)


@history_app.command("cohorts")
def cohorts(
    from_: FromOption = None,
    to: ToOption = None,
    by: Annotated[
        str, typer.Option(help="signup_month, vendor_type, plan or acquisition_channel")
    ] = "signup_month",
    metric: Annotated[str, typer.Option(help="logo or revenue retention in the cells")] = "logo",
    max_age: Annotated[int, typer.Option(min=0, max=120, help="Months of age shown")] = 12,
    as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    out: OutOption = None,
) -> None:
    """Cohort retention: one row per signup month (or segment), one column per month of age.

    A cell is the share of the cohort still a customer at the first instant of that month
    of age (logo) or their MRR then over their MRR at start (revenue, expansion included).

    Example: wedsync-success report cohorts --from 2025-01-01 --to 2025-12-31 --metric revenue
    """
    from wedsync_success.reports import history_requests
    from wedsync_success.reports.history_schemas import CohortBy, CohortMetric

    group, kind = _choice(CohortBy, by, "--by"), _choice(CohortMetric, metric, "--metric")
    start, end, day = parse_day(from_, "--from"), parse_day(to, "--to"), parse_day(as_of, "--as-of")

    async def work(session: AsyncSession, ctx: AppContext) -> Any:
        return await history_requests.cohorts(
            session,
            settings=ctx.settings,
            as_of=day or ctx.clock().date(),
            signed_up_from=start,
            signed_up_to=end,
            by=group,
            metric=kind,
            max_age=max_age,
        )

    table = _compute(work)
    ages = max((len(r.cells) for r in table.rows), default=0)
    _emit(
        table,
        fmt=fmt,
        out=out,
        title=f"{kind.value.capitalize()} retention by {group.value} and month of age",
        header=["cohort", "size", *[f"m{a}" for a in range(ages)]],
        rows=[
            [r.key, r.size, *[c.value for c in r.cells], *[None] * (ages - len(r.cells))]
            for r in table.rows
        ],
        note=f"Amounts in {table.reporting.currency}. {table.definition}",
    )


@history_app.command("survival")
def survival(
    by: Annotated[
        str, typer.Option(help="all, vendor_type, plan, acquisition_channel or country")
    ] = "all",
    from_: FromOption = None,
    to: ToOption = None,
    horizon_months: Annotated[int, typer.Option(min=1, max=120)] = 24,
    as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    out: OutOption = None,
) -> None:
    """Kaplan-Meier survival per segment: the share still customers after each month, with
    95 % bands (censoring those still subscribed) and a log-rank p-value across segments."""
    from wedsync_success.reports import history_requests
    from wedsync_success.reports.history_schemas import SegmentBy

    group = _choice(SegmentBy, by, "--by")
    start, end, day = parse_day(from_, "--from"), parse_day(to, "--to"), parse_day(as_of, "--as-of")

    async def work(session: AsyncSession, ctx: AppContext) -> Any:
        return await history_requests.survival(
            session,
            settings=ctx.settings,
            as_of=day or ctx.clock().date(),
            by=group,
            signed_up_from=start,
            signed_up_to=end,
            horizon_months=horizon_months,
        )

    report = _compute(work)
    p = report.logrank_p_value
    _emit(
        report,
        fmt=fmt,
        out=out,
        title=f"Survival by {group.value}",
        header=["key", "month", "survival", "lower", "upper", "at_risk"],
        rows=[
            [c.key, int(pt.month), pt.survival, pt.lower, pt.upper, pt.at_risk]
            for c in report.curves
            for pt in c.points
        ],
        note=(f"Log-rank p = {p:.4g}. " if p is not None else "") + report.definition,
    )


@history_app.command("ltv")
def ltv(
    by: Annotated[
        str, typer.Option(help="all, vendor_type, plan, acquisition_channel or country")
    ] = "all",
    from_: Annotated[
        str | None, typer.Option("--from", help="First month of the churn window")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month of the window")] = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    out: OutOption = None,
) -> None:
    """Lifetime value per segment: ARPA x gross margin / monthly logo churn (the configured
    WEDSYNC_GROSS_MARGIN, stated), beside a shifted-beta-geometric model's lifetime."""
    from wedsync_success.reports import history_requests
    from wedsync_success.reports.history_schemas import SegmentBy

    group = _choice(SegmentBy, by, "--by")
    start, end, day = parse_day(from_, "--from"), parse_day(to, "--to"), parse_day(as_of, "--as-of")

    async def work(session: AsyncSession, ctx: AppContext) -> Any:
        return await history_requests.ltv(
            session,
            settings=ctx.settings,
            as_of=day or ctx.clock().date(),
            by=group,
            window_from=start,
            window_to=end,
        )

    report = _compute(work)
    _emit(
        report,
        fmt=fmt,
        out=out,
        title=f"LTV by {group.value} (gross margin {report.gross_margin:.0%}, "
        f"{report.reporting.currency} minor units)",
        header=[
            "key",
            "supplier_months",
            "monthly_churn",
            "arpa_minor",
            "ltv_minor",
            "sbg_alpha",
            "sbg_beta",
            "sbg_lifetime_months",
            "sbg_ltv_minor",
        ],
        rows=[
            [
                s.key,
                s.supplier_months,
                s.monthly_logo_churn,
                s.arpa_minor,
                s.ltv_minor,
                s.sbg.alpha if s.sbg else None,
                s.sbg.beta if s.sbg else None,
                s.sbg.expected_lifetime_months if s.sbg else None,
                s.sbg_ltv_minor,
            ]
            for s in report.segments
        ],
        note=report.definition,
    )


@history_app.command("churn-breakdown")
def breakdown(
    by: Annotated[
        str,
        typer.Option(
            help="cancellation_reason, vendor_type, plan, country, tenure_band or "
            "acquisition_channel"
        ),
    ] = "cancellation_reason",
    from_: FromOption = None,
    to: ToOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
    out: OutOption = None,
) -> None:
    """Churn over a window (default the last 30 days) per segment: suppliers active at its
    start who had left by its end."""
    from wedsync_success.reports import history_requests
    from wedsync_success.reports.history_schemas import BreakdownBy

    group = _choice(BreakdownBy, by, "--by")
    start, end = parse_day(from_, "--from"), parse_day(to, "--to")

    async def work(session: AsyncSession, ctx: AppContext) -> Any:
        return await history_requests.breakdown(
            session,
            settings=ctx.settings,
            today=ctx.clock().date(),
            by=group,
            window_from=start,
            window_to=end,
        )

    report = _compute(work)
    _emit(
        report,
        fmt=fmt,
        out=out,
        title=f"Churn {report.window_from} to {report.window_to} by {group.value}",
        header=["key", "active_at_start", "churned", "churn_rate", "monthly_rate", "share"],
        rows=[
            [
                r.key,
                r.active_at_start,
                r.churned,
                r.churn_rate,
                r.monthly_churn_rate,
                r.share_of_churned,
            ]
            for r in [*report.rows, report.total]
        ],
        note=report.definition,
    )


E = TypeVar("E", bound=enum.StrEnum)


def _choice(kind: type[E], value: str, name: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise typer.BadParameter(f"{value!r} is not one of {allowed}", param_hint=name) from None
