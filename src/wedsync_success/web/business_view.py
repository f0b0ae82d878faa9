"""The Business page and the monthly report as pictures: charts made from the BI reports.

Every function takes one report model from ``reports/`` and returns the chart the page and
the printable report both draw (``web/charts.py``). Money is charted in major units of the
reporting currency; rates as percentages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from wedsync_success.reports.accuracy_schemas import ModelAccuracyReport
from wedsync_success.reports.attribution_schemas import AttributionReport, CreditModel
from wedsync_success.reports.business import BusinessPack
from wedsync_success.reports.history_schemas import CohortTable, SurvivalReport
from wedsync_success.reports.roi_schemas import RoiReport
from wedsync_success.reports.schemas import RetentionReport
from wedsync_success.surveys.schemas import CsatReport, NpsReport
from wedsync_success.web import charts
from wedsync_success.web.formatting import CURRENCY_SYMBOLS

CHURN_BEFORE = 0.082
"""Monthly logo churn when the programme started (the seed's 8.2 %)."""
CHURN_TARGET = 0.03
"""The programme's goal: monthly logo churn under 3 %."""
ACCURACY_CLAIM = 0.85


def percent(value: float) -> str:
    return f"{value * 100:,.0f}%" if abs(value) >= 0.1 or value == 0 else f"{value * 100:.1f}%"


def money_axis(currency: str) -> Callable[[float], str]:
    """Axis labels for amounts in major units: ``£12k``, ``-£3.5k`` (a minus sign), ``£800``."""
    symbol = CURRENCY_SYMBOLS.get(currency, currency + " ")

    def fmt(value: float) -> str:
        sign = "−" if value < 0 else ""
        size = abs(value)
        if size >= 1_000_000:
            return f"{sign}{symbol}{size / 1_000_000:.3g}m"
        if size >= 1_000:
            return f"{sign}{symbol}{size / 1_000:.3g}k"
        return f"{sign}{symbol}{size:.0f}"

    return fmt


def _month(day: date) -> str:
    return day.strftime("%b %Y")


def movements_chart(report: RetentionReport) -> charts.BarChart:
    """MRR won (new, reactivated, expansion) above zero and lost (contraction, churn) below."""
    rows = [p.reporting for p in report.periods]
    major = 10**2

    def series(name: str, values: list[int], sign: int) -> charts.Series:
        return charts.Series(name, [sign * v / major for v in values])

    return charts.bar_chart(
        title=f"MRR movements by {report.period.value} ({report.reporting_currency})",
        labels=[_month(p.start) for p in report.periods],
        series=[
            series("New", [r.mrr_new for r in rows], 1),
            series("Reactivated", [r.mrr_reactivation for r in rows], 1),
            series("Expansion", [r.mrr_expansion for r in rows], 1),
            series("Contraction", [r.mrr_contraction for r in rows], -1),
            series("Churned", [r.mrr_churned for r in rows], -1),
        ],
        fmt=money_axis(report.reporting_currency),
    )


def churn_chart(report: RetentionReport) -> charts.LineChart:
    """Monthly logo churn against where the programme started and its goal."""
    labels = [_month(p.start) for p in report.periods]
    return charts.line_chart(
        title="Monthly logo churn",
        labels=labels,
        series=[
            charts.Series("Logo churn", [p.monthly_logo_churn for p in report.periods]),
            charts.Series("Before (8.2 %)", [CHURN_BEFORE] * len(labels)),
            charts.Series("Goal (3 %)", [CHURN_TARGET] * len(labels)),
        ],
        fmt=percent,
        y_min=0.0,
    )


def nrr_chart(report: RetentionReport) -> charts.LineChart:
    return charts.line_chart(
        title="Net and gross revenue retention",
        labels=[_month(p.start) for p in report.periods],
        series=[
            charts.Series("NRR", [p.reporting.nrr for p in report.periods]),
            charts.Series("GRR", [p.reporting.grr for p in report.periods]),
        ],
        fmt=percent,
    )


def cohort_heat(table: CohortTable) -> charts.HeatMap:
    """Retention by month of age, a row per cohort; ages not yet reached stay blank."""
    ages = list(range(table.max_age + 1))
    rows = []
    for row in table.rows:
        by_age = {c.age: c.value for c in row.cells}
        rows.append((f"{row.key} ({row.size:,})", [by_age.get(age) for age in ages]))
    return charts.heat_map(
        title=f"{table.metric.value.capitalize()} retention by cohort and month of age",
        columns=[f"M{age}" for age in ages],
        rows=rows,
        fmt=percent,
        low=0.0,
        high=1.0,
    )


def survival_chart(report: SurvivalReport, *, months: int = 24) -> charts.LineChart:
    """Kaplan-Meier curves with their 95 % bands, read at each whole month."""
    ticks = list(range(months + 1))
    series = []
    for curve in report.curves:
        values: list[float | None] = []
        low: list[float | None] = []
        high: list[float | None] = []
        points = sorted(curve.points, key=lambda p: p.month)
        last_seen = points[-1].month if points else 0.0
        for month in ticks:
            known = [p for p in points if p.month <= month]
            if month > last_seen or not known:
                start = month == 0
                values.append(1.0 if start else None)
                low.append(1.0 if start else None)
                high.append(1.0 if start else None)
                continue
            point = known[-1]
            values.append(point.survival)
            low.append(point.lower)
            high.append(point.upper)
        series.append(charts.Series(curve.key, values, low=low, high=high, step=True))
    return charts.line_chart(
        title="Share of suppliers still customers, by months since signup",
        labels=[str(m) for m in ticks],
        series=series,
        fmt=percent,
        y_min=0.0,
        y_max=1.0,
    )


def nps_chart(nps: NpsReport, csat: CsatReport) -> charts.LineChart:
    """NPS (-100 to 100) and CSAT (% satisfied, 0 to 100: the same scale) per period."""
    labels = [_month(p.start) for p in nps.periods]
    csat_by_start = {p.start: p.total.csat for p in csat.periods}
    return charts.line_chart(
        title="NPS and CSAT",
        labels=labels,
        series=[
            charts.Series("NPS", [p.total.nps for p in nps.periods]),
            charts.Series(
                "CSAT (% satisfied)",
                [csat_by_start.get(p.start) for p in nps.periods],
            ),
        ],
        fmt=lambda v: f"{v:.0f}",
    )


def roi_chart(report: RoiReport) -> charts.IntervalChart:
    """Each playbook's ROI with its 95 % interval; playbooks without a holdout say so."""
    items = []
    for playbook in report.playbooks:
        if playbook.roi is None:
            note = playbook.reason or playbook.roi_reason or "cannot be measured"
            items.append(charts.Interval(playbook.playbook_key, None, note=note))
        else:
            r = playbook.roi
            items.append(charts.Interval(playbook.playbook_key, r.estimate, r.low, r.high))
    if report.total.roi is not None:
        t = report.total.roi
        items.append(charts.Interval("All measured playbooks", t.estimate, t.low, t.high))
    return charts.interval_chart(title="Return on each playbook", items=items, fmt=percent)


def calibration_chart(report: ModelAccuracyReport) -> charts.LineChart | None:
    """Predicted against observed churn per probability bin (the diagonal is perfect)."""
    if not report.overall:
        return None
    latest = report.overall[-1]
    bins = [b for b in latest.calibration if b.count]
    if not bins:
        return None
    return charts.line_chart(
        title=f"Calibration of model {latest.model_version}",
        labels=[f"{b.low:.0%}–{b.high:.0%}" for b in bins],
        series=[
            charts.Series("Observed churn", [b.observed for b in bins]),
            charts.Series("Predicted", [b.predicted for b in bins]),
        ],
        fmt=percent,
        y_min=0.0,
    )


def accuracy_chart(report: ModelAccuracyReport) -> charts.LineChart | None:
    """ROC-AUC and accuracy per month, beside the claimed accuracy."""
    months = sorted({m.month for m in report.months if m.month is not None})
    if not months:
        return None
    by_month = {m.month: m for m in report.months}
    return charts.line_chart(
        title="The churn model on real outcomes",
        labels=[_month(m) for m in months],
        series=[
            charts.Series("ROC-AUC", [by_month[m].roc_auc for m in months]),
            charts.Series("Accuracy", [by_month[m].accuracy for m in months]),
            charts.Series(
                "Nobody churns",
                [by_month[m].accuracy_if_nobody_churns for m in months],
            ),
            charts.Series("Claimed (85 %)", [ACCURACY_CLAIM] * len(months)),
        ],
        fmt=percent,
    )


TOUCH_LABELS = {
    "supplier.health_improved": "Health improved",
    "supplier.milestone_achieved": "Milestone",
    "supplier.success_champion": "Champion",
    "supplier.support_ticket_closed": "Ticket closed",
    "intervention.sent": "Message sent",
    "intervention.opened": "Message opened",
    "intervention.clicked": "Message clicked",
}
KIND_LABELS = {"upgrade": "Upgrades", "renewal": "Renewals", "referral_converted": "Referrals"}


def attribution_chart(
    report: AttributionReport, *, model: CreditModel = CreditModel.LINEAR
) -> charts.BarChart:
    """Conversions credited to each touch type under ``model``, stacked by conversion kind."""
    touch_types = sorted(
        {r.touch_type for r in report.credit},
        key=lambda t: -sum(r.credit.get(model, 0.0) for r in report.credit if r.touch_type == t),
    )
    kinds = [c.kind for c in report.conversions]
    credit = {(r.kind, r.touch_type): r.credit.get(model, 0.0) for r in report.credit}
    return charts.bar_chart(
        title=f"Conversions credited by touch ({model.value.replace('_', ' ')}, "
        f"{report.window_days} days before)",
        labels=[TOUCH_LABELS.get(t, t) for t in touch_types],
        series=[
            charts.Series(
                KIND_LABELS.get(k.value, k.value), [credit.get((k, t), 0.0) for t in touch_types]
            )
            for k in kinds
        ],
        fmt=lambda v: f"{v:,.1f}",
    )


@dataclass(frozen=True)
class BusinessView:
    """The charts of one Business page or monthly report."""

    movements: charts.BarChart
    churn: charts.LineChart
    retention: charts.LineChart
    satisfaction: charts.LineChart
    cohorts: charts.HeatMap
    survival: charts.LineChart
    roi: charts.IntervalChart
    accuracy: charts.LineChart | None
    calibration: charts.LineChart | None
    attribution: charts.BarChart


def view_of(pack: BusinessPack) -> BusinessView:
    return BusinessView(
        movements=movements_chart(pack.retention),
        churn=churn_chart(pack.retention),
        retention=nrr_chart(pack.retention),
        satisfaction=nps_chart(pack.nps, pack.csat),
        cohorts=cohort_heat(pack.cohorts),
        survival=survival_chart(pack.survival),
        roi=roi_chart(pack.roi),
        accuracy=accuracy_chart(pack.accuracy),
        calibration=calibration_chart(pack.accuracy),
        attribution=attribution_chart(pack.attribution),
    )
