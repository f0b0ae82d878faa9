"""``wedsync-success report …``: the business reports on the command line.

Each command prints a Rich table by default, or ``--format csv`` / ``--format json`` for a
spreadsheet or a script (JSON is exactly the API's answer). The reports' modules load when
a command runs, so ``--help`` answers at once.
"""

from __future__ import annotations

import csv
import enum
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from wedsync_success.kit.cli import console, parse_window, run
from wedsync_success.reports.history_cli import add_history_commands

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.reports.accuracy_schemas import ModelAccuracyReport
    from wedsync_success.reports.attribution_schemas import AttributionReport, CreditModel
    from wedsync_success.reports.roi_schemas import Amount, Ratio, RoiReport

report_app = typer.Typer(
    help="Business reports: the return on customer success, the churn model's real accuracy; "
    "cohorts, survival, LTV and churn breakdowns from subscription history.",
    no_args_is_help=True,
)
add_history_commands(report_app)


class Format(enum.StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FromOption = Annotated[
    str, typer.Option("--from", help="First day of the window, YYYY-MM-DD", show_default=False)
]
ToOption = Annotated[
    str,
    typer.Option(
        "--to",
        help="The day after the window, YYYY-MM-DD: the window is [from, to)",
        show_default=False,
    ),
]
FormatOption = Annotated[
    Format, typer.Option("--format", help="table (default), csv or json (the API's answer)")
]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _money(minor: int | None, digits: int) -> str:
    return "–" if minor is None else f"{minor / 10**digits:,.{digits}f}"


def _amount(amount: Amount | None, digits: int) -> str:
    if amount is None:
        return "–"
    low, high = _money(amount.low_minor, digits), _money(amount.high_minor, digits)
    return f"{_money(amount.estimate_minor, digits)} [{low}, {high}]"


def _ratio(ratio: Ratio | None) -> str:
    return "–" if ratio is None else f"{ratio.estimate:.0%} [{ratio.low:.0%}, {ratio.high:.0%}]"


@report_app.command("roi")
def roi(start: FromOption, end: ToOption, output: FormatOption = Format.TABLE) -> None:
    """The return on customer success for the runs enrolled in [--from, --to).

    Per playbook: suppliers treated and in control, each arm's retention at the window's
    end, the retained MRR attributable to treatment (uplift x treated MRR, 95 % interval),
    the cost (WEDSYNC_PROGRAMME_COSTS_CONFIG) and the ROI. A playbook without a control
    group says its effect cannot be measured and is left out of the total.

    Example: wedsync-success report roi --from 2026-01-01 --to 2026-07-01 --format csv
    """
    first, after = parse_window(start, end)

    async def work(ctx: AppContext) -> RoiReport:
        from wedsync_success.reports.roi import holdouts_of, roi_report

        async with ctx.db.sessions() as session:
            return await roi_report(
                session=session,
                start=first,
                end=after,
                as_of=ctx.clock(),
                holdouts=holdouts_of(ctx.interventions.catalog),
                costs=ctx.programme_costs,
                rates=ctx.settings.rates,
            )

    report = run(work)
    if output is Format.JSON:
        sys.stdout.write(report.model_dump_json(by_alias=True, indent=2) + "\n")
    elif output is Format.CSV:
        _roi_csv(report)
    else:
        _roi_table(report)


def _roi_table(report: RoiReport) -> None:
    from wedsync_success.kit.currency import minor_digits

    digits = minor_digits(report.currency)
    table = Table(
        "playbook",
        "treated",
        "control",
        "retention T / C",
        "uplift [95 %]",
        f"incremental MRR ({report.currency})",
        f"revenue x{report.revenue_months:g} mo",
        "cost",
        "ROI [95 %]",
        title=f"Return on customer success, runs enrolled {report.from_} to {report.to} "
        "(exclusive)",
    )
    for p in report.playbooks:
        uplift = p.uplift
        table.add_row(
            p.playbook_key,
            f"{p.treated.suppliers:,}",
            f"{p.control.suppliers:,}",
            f"{_pct(p.treated.retention)} / {_pct(p.control.retention)}",
            "–"
            if uplift.difference is None or not p.measurable
            else f"{uplift.difference:+.1%} [{uplift.low:+.1%}, {uplift.high:+.1%}]",
            _amount(p.incremental_mrr, digits) if p.measurable else "cannot be measured",
            _amount(p.incremental_revenue, digits),
            _money(p.cost.total_minor, digits),
            _ratio(p.roi),
        )
    t = report.total
    table.add_section()
    table.add_row(
        "[bold]total (measurable)[/]",
        f"{t.treated:,}",
        f"{t.control:,}",
        "",
        "",
        _amount(t.incremental_mrr, digits),
        _amount(t.incremental_revenue, digits),
        _money(t.cost_minor, digits),
        _ratio(t.roi),
    )
    console.print(table)
    for left in t.left_out:
        console.print(f"[yellow]Left out of the total:[/] {left.playbook_key}: {left.reason}")
    if t.roi is None and t.roi_reason:
        console.print(f"[yellow]Total ROI:[/] {t.roi_reason}")
    console.print(
        f"Retention is measured at {report.to}; money in {report.currency} "
        f"({', '.join(f'1 {c} = {r:g}' for c, r in sorted(report.rates.items())) or 'no rates'})."
    )


ROI_COLUMNS = (
    "playbook_key",
    "measurable",
    "reason",
    "treated",
    "treated_retained",
    "treated_retention",
    "control",
    "control_retained",
    "control_retention",
    "treated_save_rate",
    "control_save_rate",
    "uplift",
    "uplift_low",
    "uplift_high",
    "treated_mrr_minor",
    "incremental_mrr_minor",
    "incremental_mrr_low_minor",
    "incremental_mrr_high_minor",
    "incremental_revenue_minor",
    "incremental_revenue_low_minor",
    "incremental_revenue_high_minor",
    "cost_minor",
    "roi",
    "roi_low",
    "roi_high",
    "currency",
)


def _amount_cells(amount: Amount | None) -> list[Any]:
    return (
        ["", "", ""]
        if amount is None
        else [
            amount.estimate_minor,
            amount.low_minor,
            amount.high_minor,
        ]
    )


def _ratio_cells(ratio: Ratio | None) -> list[Any]:
    return ["", "", ""] if ratio is None else [ratio.estimate, ratio.low, ratio.high]


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _roi_csv(report: RoiReport) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(ROI_COLUMNS)
    for p in report.playbooks:
        u = p.uplift
        writer.writerow(
            [
                p.playbook_key,
                p.measurable,
                _cell(p.reason),
                p.treated.suppliers,
                p.treated.retained,
                _cell(p.treated.retention),
                p.control.suppliers,
                p.control.retained,
                _cell(p.control.retention),
                _cell(p.treated.save_rate),
                _cell(p.control.save_rate),
                *(_cell(v) for v in (u.difference, u.low, u.high)),
                p.treated_mrr_minor,
                *_amount_cells(p.incremental_mrr),
                *_amount_cells(p.incremental_revenue),
                p.cost.total_minor,
                *_ratio_cells(p.roi),
                report.currency,
            ]
        )
    t = report.total
    left_out = "; ".join(f"{x.playbook_key} left out: {x.reason}" for x in t.left_out)
    writer.writerow(
        [
            "TOTAL",
            bool(t.playbooks),
            left_out,
            t.treated,
            "",
            "",
            t.control,
            *([""] * 7),
            "",
            *_amount_cells(t.incremental_mrr),
            *_amount_cells(t.incremental_revenue),
            t.cost_minor,
            *_ratio_cells(t.roi),
            report.currency,
        ]
    )


@report_app.command("model-accuracy")
def model_accuracy(start: FromOption, end: ToOption, output: FormatOption = Format.TABLE) -> None:
    """The churn model's accuracy on real outcomes, for predictions made in [--from, --to).

    Per month and model version (each supplier's first prediction of the month whose horizon
    has ended): ROC-AUC, PR-AUC, Brier, expected calibration error and accuracy at 0.5, next
    to the accuracy of predicting that nobody churns and the claimed "> 85 %".

    Example: wedsync-success report model-accuracy --from 2026-01-01 --to 2026-07-01
    """
    first, after = parse_window(start, end)

    async def work(ctx: AppContext) -> ModelAccuracyReport:
        from wedsync_success.reports.accuracy import model_accuracy as measure

        async with ctx.db.sessions() as session:
            return await measure(session=session, start=first, end=after, as_of=ctx.clock())

    report = run(work)
    if output is Format.JSON:
        sys.stdout.write(report.model_dump_json(by_alias=True, indent=2) + "\n")
        return
    rows = [*report.months, *report.overall]
    if output is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(ACCURACY_COLUMNS)
        for row in rows:
            writer.writerow(
                [row.month or "ALL", *(_cell(getattr(row, c)) for c in ACCURACY_COLUMNS[1:])]
            )
        return
    table = Table(
        "month",
        "model",
        "predictions",
        "churned",
        "ROC-AUC",
        "PR-AUC",
        "Brier",
        "ECE",
        "accuracy @0.5",
        "if nobody churns",
        title=f"Churn model on real outcomes, predictions of {report.from_} to {report.to} "
        "(exclusive)",
    )
    for row in rows:
        table.add_row(
            str(row.month.strftime("%Y-%m")) if row.month else "[bold]all[/]",
            row.model_version,
            f"{row.predictions:,}",
            f"{row.churned:,}",
            *(
                "–" if v is None else f"{v:.3f}"
                for v in (row.roc_auc, row.pr_auc, row.brier, row.ece)
            ),
            _pct(row.accuracy),
            _pct(row.accuracy_if_nobody_churns),
        )
    console.print(table)
    console.print(
        f"Claimed: > {report.claim.accuracy:.0%} accuracy ({report.claim.source}). "
        f"{report.claim.verdict}",
        highlight=False,
    )
    if report.pending:
        console.print(f"{report.pending:,} predictions of the window are still within horizon.")


ACCURACY_COLUMNS = (
    "month",
    "model_version",
    "predictions",
    "churned",
    "base_rate",
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "accuracy",
    "precision",
    "recall",
    "accuracy_if_nobody_churns",
    "meets_claim",
)


@report_app.command("attribution")
def attribution(
    start: FromOption,
    end: ToOption,
    window_days: Annotated[
        int | None,
        typer.Option(
            "--window-days",
            help="Days before a conversion a touch still counts (1-365); default "
            "WEDSYNC_ATTRIBUTION_WINDOW_DAYS (30)",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="first_touch, last_touch or linear; default all three",
            show_default=False,
        ),
    ] = None,
    output: FormatOption = Format.TABLE,
) -> None:
    """Which success events and interventions preceded the conversions of [--from, --to).

    A conversion is an upgrade (a subscription period continuing the previous one at a
    higher net MRR), a renewal (a period starting at or after the previous one's end) or a
    referral converted. Each shares one unit of credit among the success events and sent,
    opened or clicked interventions of its supplier in the window before it: all to the
    first touch, all to the last, or equally (linear). Control-arm runs earn nothing.

    Example: wedsync-success report attribution --from 2026-05-01 --to 2026-06-01 --window-days 14
    """
    first, after = parse_window(start, end)
    models = _models(model)

    async def work(ctx: AppContext) -> AttributionReport:
        from wedsync_success.reports.attribution import attribution_report, check_request

        days = ctx.settings.attribution_window_days if window_days is None else window_days
        check_request(given_from=first, given_to=after, window_days=days, today=ctx.clock().date())
        async with ctx.db.sessions() as session:
            return await attribution_report(
                session=session,
                start=first,
                end=after,
                window_days=days,
                models=models,
                rates=ctx.settings.rates,
            )

    report = run(work)
    if output is Format.JSON:
        sys.stdout.write(report.model_dump_json(by_alias=True, indent=2) + "\n")
        return
    names = [m.value for m in report.models]
    if output is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(
            ["kind", "touch_type", "touches", "conversions"]
            + [f"credit_{n}" for n in names]
            + [f"value_minor_{n}" for n in names]
        )
        for row in report.credit:
            writer.writerow(
                [row.kind.value, row.touch_type, row.touches, row.conversions]
                + [row.credit[m] for m in report.models]
                + [row.value_minor[m] for m in report.models]
            )
        return
    _attribution_table(report)


def _models(value: str | None) -> list[CreditModel]:
    """The credit models asked for; an unknown one is refused naming ``--model``."""
    from wedsync_success.reports.attribution_schemas import CreditModel

    if value is None:
        return list(CreditModel)
    try:
        return [CreditModel(value)]
    except ValueError:
        choices = ", ".join(m.value for m in CreditModel)
        raise typer.BadParameter(f"must be one of {choices}", param_hint="--model") from None


def _attribution_table(report: AttributionReport) -> None:
    from wedsync_success.kit.currency import minor_digits

    digits = minor_digits(report.rates.currency)
    counts = Table(
        "conversion",
        "conversions",
        "with a touch",
        "without",
        f"MRR ({report.rates.currency})",
        title=f"Conversions {report.from_} to {report.to} (exclusive), touches within "
        f"{report.window_days} days before",
    )
    for c in report.conversions:
        counts.add_row(
            c.kind.value,
            f"{c.conversions:,}",
            f"{c.attributed:,}",
            f"{c.unattributed:,}",
            _money(c.value_minor, digits),
        )
    console.print(counts)
    table = Table(
        "conversion",
        "touch",
        "touches",
        "conversions",
        *(f"credit {m.value}" for m in report.models),
        title="Credit by touch type (conversions credited; each conversion shares 1)",
    )
    for row in report.credit:
        table.add_row(
            row.kind.value,
            row.touch_type,
            f"{row.touches:,}",
            f"{row.conversions:,}",
            *(f"{row.credit[m]:.2f}" for m in report.models),
        )
    console.print(table)
