"""``wedsync-success report monthly``: the CEO's monthly report as one HTML file, optionally
emailed. It sits beside ``cli.py`` because it renders the dashboard's templates (``web/``),
which the reports room itself never imports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wedsync_success.kit.cli import console, print_error, run

if TYPE_CHECKING:
    from wedsync_success.context import AppContext


def monthly_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="Write the report here (self-contained HTML, printable)"),
    ],
    month: Annotated[
        str | None,
        typer.Option("--month", help="YYYY-MM; the last complete month when left out"),
    ] = None,
    months: Annotated[
        int, typer.Option("--months", help="Months of trend in the charts, the month included")
    ] = 12,
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Segments of the survival curves and LTV: vendor_type, plan, country, …"
        ),
    ] = "vendor_type",
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            help="Comma-separated addresses to mail it to (through WEDSYNC_SMTP_URL, "
            "from WEDSYNC_MAIL_FROM), the report attached",
        ),
    ] = None,
) -> None:
    """Write the monthly customer-success report: churn and MRR movements, NRR/GRR,
    cohorts, survival curves, LTV, NPS and CSAT, the return on each playbook and the churn
    model on real outcomes, all computed from history for that month.

    Example: wedsync-success report monthly --month 2026-11 --out november.html
    --email ceo@wedsync.example
    """
    from wedsync_success.kit.errors import ValidationFailed
    from wedsync_success.reports.delivery import recipients_of

    try:
        recipients = recipients_of(email) if email is not None else []
    except ValidationFailed as exc:
        print_error(exc.message, exc.details)
        raise typer.Exit(2) from None

    async def work(ctx: AppContext) -> str:
        from wedsync_success.web.business_pages import pack_for
        from wedsync_success.web.monthly_report import render_monthly, summary

        pack = await pack_for(ctx, month=month, months=months, by=by, fresh=True)
        html = render_monthly(pack, months=months, generated_at=ctx.clock())
        out.write_text(html, encoding="utf-8")
        if recipients:
            await _mail(ctx, recipients, pack.month.strftime("%B %Y"), summary(pack), html, out)
        return pack.month.strftime("%B %Y")

    with console.status("Gathering the month's reports…"):
        name = run(work)
    console.print(f"[green]Wrote[/] the report for {name} to {out}")
    if recipients:
        console.print(f"[green]Mailed[/] it to {', '.join(recipients)}")


async def _mail(
    ctx: AppContext, recipients: list[str], month: str, text: str, html: str, out: Path
) -> None:
    from wedsync_success.interventions.channels.smtp_config import smtp_config_from_url
    from wedsync_success.kit.errors import ConfigError
    from wedsync_success.reports.delivery import report_email, send_report

    url = ctx.settings.smtp_url
    if not url:
        reason = "is not set: there is no mail server to send the report through"
        raise ConfigError(
            f"WEDSYNC_SMTP_URL {reason}", details=[{"field": "WEDSYNC_SMTP_URL", "reason": reason}]
        )
    email = report_email(
        mail_from=ctx.settings.mail_from,
        recipients=recipients,
        subject=f"Customer success, {month}",
        summary=text,
        html=html,
        filename=out.name,
    )
    await send_report(smtp=smtp_config_from_url(url), email=email)
