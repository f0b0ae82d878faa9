"""The monthly report a CEO reads: one self-contained, printable HTML file.

Made from the same gathering (``reports.business``) and the same sections template as the
Business page, with the stylesheets inlined so the file needs nothing else to show and print.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

from wedsync_success.reports.business import BusinessPack
from wedsync_success.web.business_view import view_of
from wedsync_success.web.formatting import money, pct
from wedsync_success.web.rendering import TEMPLATES

STYLESHEETS = ("app.css", "charts.css")


def _css() -> str:
    static = files("wedsync_success.web") / "static"
    return "\n".join((static / name).read_text(encoding="utf-8") for name in STYLESHEETS)


def summary(pack: BusinessPack) -> str:
    """The month in three sentences: churn against the goal, revenue, satisfaction and ROI."""
    p = pack.retention.periods[-1]
    currency = pack.retention.reporting_currency
    parts = [
        f"In {pack.month.strftime('%B %Y')}, {p.churned:,} of {p.active_at_start:,} suppliers "
        f"left: a monthly logo churn of {pct(p.monthly_logo_churn)} (goal under 3 %, 8.2 % "
        "before the programme).",
        f"MRR went from {money(p.reporting.mrr_start, currency)} to "
        f"{money(p.reporting.mrr_end, currency)}; net revenue retention "
        f"{pct(p.reporting.nrr)}, gross {pct(p.reporting.grr)}.",
    ]
    nps = pack.nps.periods[-1].total if pack.nps.periods else None
    if nps is not None and nps.nps is not None:
        parts.append(f"NPS {nps.nps:.0f} from {nps.responses:,} responses.")
    roi = pack.roi.total.roi
    if roi is not None:
        parts.append(
            f"Measured against randomised control groups, the playbooks returned "
            f"{pct(roi.estimate, 0)} on their cost (95 % interval {pct(roi.low, 0)} to "
            f"{pct(roi.high, 0)})."
        )
    else:
        parts.append("No playbook's return can be measured yet: none has a control group.")
    return " ".join(parts)


def render_monthly(pack: BusinessPack, *, months: int, generated_at: datetime) -> str:
    """The report's HTML."""
    template = TEMPLATES.env.get_template("monthly_report.html")
    return template.render(
        pack=pack,
        view=view_of(pack),
        months=months,
        css=_css(),
        summary=summary(pack),
        generated_at=generated_at,
        print_tables=True,
    )
