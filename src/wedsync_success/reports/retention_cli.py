"""``wedsync-success report retention``: logo churn and MRR movements for each period of a
window, from subscription history (``reports.retention``). Registered on the ``report``
group of ``reports.cli``; only Typer and Rich load at import, the database and NumPy when
the command runs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from wedsync_success.kit.cli import console, err_console, parse_window, run
from wedsync_success.reports.cli import Format, FromOption, ToOption
from wedsync_success.reports.windows import ReportPeriod

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.reports.schemas import MrrMovement, RetentionReport


MOVEMENT_FIELDS = (
    "mrr_start",
    "mrr_new",
    "mrr_expansion",
    "mrr_contraction",
    "mrr_churned",
    "mrr_reactivation",
    "mrr_end",
    "mrr_churn_rate",
    "grr",
    "nrr",
)
LOGO_FIELDS = (
    "start",
    "end",
    "days",
    "complete",
    "active_at_start",
    "churned",
    "logo_churn_rate",
    "new",
    "reactivated",
    "active_at_end",
    "monthly_logo_churn",
    "annualised_logo_churn",
)


def retention(
    start: FromOption,
    end: ToOption,
    period: Annotated[
        ReportPeriod, typer.Option(help="Length of each period, stepped from --from")
    ] = ReportPeriod.MONTH,
    currency: Annotated[
        str | None,
        typer.Option(
            help="Reporting currency (default WEDSYNC_REPORTING_CURRENCY; needs a rate in "
            "WEDSYNC_FX_RATES)",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Format,
        typer.Option(
            "--format",
            help="table (Rich, reporting currency), csv (one row per period and currency, "
            "then the reporting currency) or json (the API's answer)",
        ),
    ] = Format.TABLE,
    out: Annotated[
        Path | None,
        typer.Option(help="Write to this file instead of the terminal", show_default=False),
    ] = None,
) -> None:
    """Logo churn and MRR movements (new, expansion, contraction, churned, reactivation)
    with GRR and NRR for each period of [--from, --to), computed from subscription history.

    Example: wedsync-success report retention --from 2025-01-01 --to 2026-01-01 --format csv
    """
    first, after = parse_window(start, end)

    async def work(ctx: AppContext) -> RetentionReport:
        from wedsync_success.reports.retention import retention_report

        async with ctx.db.sessions() as session:
            return await retention_report(
                session=session,
                start=first,
                end=after,
                period=period,
                rates=ctx.settings.rates,
                currency=currency,
            )

    with err_console.status("Computing the retention report…"):
        report = run(work)
    if output is Format.JSON:
        _emit(report.model_dump_json(indent=2) + "\n", out)
    elif output is Format.CSV:
        _emit(retention_csv(report), out)
    elif out is None:
        console.print(retention_table(report))
    else:
        with out.open("w", encoding="utf-8") as handle:
            from rich.console import Console

            Console(file=handle, width=200).print(retention_table(report))
    if out is not None:
        err_console.print(f"Wrote {out}")


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


def retention_csv(report: RetentionReport) -> str:
    """One row per period and currency, then one per period in the reporting currency
    (``basis`` says which)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*LOGO_FIELDS, "basis", "currency", *MOVEMENT_FIELDS])
    for p in report.periods:
        logos = [getattr(p, name) for name in LOGO_FIELDS]
        rows: list[tuple[str, str, MrrMovement]] = [
            ("currency", code, m) for code, m in p.mrr.items()
        ]
        rows.append(("reporting", report.reporting_currency, p.reporting))
        for basis, code, m in rows:
            writer.writerow([*logos, basis, code, *(getattr(m, f) for f in MOVEMENT_FIELDS)])
    return buffer.getvalue()


def _money(minor: int, currency: str) -> str:
    from wedsync_success.kit.currency import minor_digits

    digits = minor_digits(currency)
    return f"{minor / 10**digits:,.{digits}f}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def retention_table(report: RetentionReport) -> Table:
    """The report in the reporting currency, one row per period."""
    code = report.reporting_currency
    rates = ", ".join(f"1 {c} = {r:g} {code}" for c, r in sorted(report.rates.items()))
    caption = [f"MRR in {code}" + (f" ({rates})" if rates else "")]
    if report.not_converted:
        caption.append(f"not converted (no rate): {', '.join(report.not_converted)}")
    if report.suppliers_without_history:
        caption.append(
            f"{report.suppliers_without_history:,} suppliers without history counted from their row"
        )
    table = Table(
        title=f"Retention {report.start} → {report.end} by {report.period.value}",
        caption="; ".join(caption),
    )
    headers: list[tuple[str, Any]] = [
        ("Period", "left"),
        ("Active", "right"),
        ("Churned", "right"),
        ("Churn", "right"),
        ("Annual", "right"),
        ("New", "right"),
        ("Back", "right"),
        ("Active end", "right"),
        ("MRR start", "right"),
        ("+New", "right"),
        ("+Exp", "right"),
        ("−Contr", "right"),
        ("−Churn", "right"),
        ("+React", "right"),
        ("MRR end", "right"),
        ("GRR", "right"),
        ("NRR", "right"),
    ]
    for header, justify in headers:
        table.add_column(header, justify=justify)
    for p in report.periods:
        m = p.reporting
        label = f"{p.start} → {p.end}" + ("" if p.complete else " (part)")
        table.add_row(
            label,
            f"{p.active_at_start:,}",
            f"{p.churned:,}",
            _share(p.logo_churn_rate),
            _share(p.annualised_logo_churn),
            f"{p.new:,}",
            f"{p.reactivated:,}",
            f"{p.active_at_end:,}",
            *(
                _money(getattr(m, f), code)
                for f in (
                    "mrr_start",
                    "mrr_new",
                    "mrr_expansion",
                    "mrr_contraction",
                    "mrr_churned",
                    "mrr_reactivation",
                    "mrr_end",
                )
            ),
            _share(m.grr),
            _share(m.nrr),
        )
    return table
