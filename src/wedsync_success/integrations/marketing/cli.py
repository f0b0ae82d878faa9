"""``wedsync-success marketing …``: is the marketing sync on, what is queued, send it now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wedsync_success.kit.cli import console, run

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.integrations.marketing.schemas import MarketingStatus

marketing_app = typer.Typer(
    help="Marketing sync: success events as Segment track/identify calls sent to "
    "WEDSYNC_MARKETING_URL (Segment, RudderStack, Customer.io, any compatible collector), "
    "and the campaigns of WEDSYNC_CAMPAIGNS_CONFIG. See docs/marketing.md.",
    no_args_is_help=True,
)


def _show(status: MarketingStatus) -> None:
    if status.enabled:
        console.print(f"Collector: {escape(status.batch_url or '')}")
    else:
        console.print("Collector: [yellow]off[/] (set WEDSYNC_MARKETING_URL to turn it on)")
    states = ("pending", "sending", "sent", "failed")
    counts = Table(*states, title="Messages")
    counts.add_row(*(f"{status.messages.get(s, 0):,}" for s in states))
    console.print(counts)
    campaigns = Table("campaign", "when", "action", "cooldown (days)", "active", title="Campaigns")
    for c in status.campaigns:
        campaigns.add_row(
            c.key, c.when, c.action, f"{c.cooldown_days:g}", "yes" if c.active else "no"
        )
    console.print(campaigns)


@marketing_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON")] = False,
) -> None:
    """Collector, messages by state and which campaigns are active.

    Messages are pending, sending, sent or failed; a failed one's error (with the
    collector's answer) is listed by GET /api/v1/marketing/messages?status=failed."""
    from wedsync_success.integrations.marketing import service

    async def work(ctx: AppContext) -> MarketingStatus:
        async with ctx.db.sessions() as session:
            return await service.read_status(
                session=session, policy=ctx.marketing.policy, campaigns=ctx.marketing.campaigns
            )

    found = run(work)
    if as_json:
        console.print_json(found.model_dump_json())
    else:
        _show(found)


@marketing_app.command("flush")
def flush() -> None:
    """Send every pending message now, waiting retries included.

    Then shows the status. Messages still failing stay pending with their next retry (or
    fail once their retry window, WEDSYNC_MARKETING_RETRY_WINDOW_HOURS, is spent)."""
    from wedsync_success.db.unit_of_work import UnitOfWork
    from wedsync_success.integrations.marketing import service

    async def work(ctx: AppContext) -> tuple[int, MarketingStatus]:
        now = ctx.clock()
        await UnitOfWork(ctx.db).run(lambda session: service.flush(session=session, now=now))
        sent = await ctx.marketing.worker().drain()
        async with ctx.db.sessions() as session:
            return sent, await service.read_status(
                session=session, policy=ctx.marketing.policy, campaigns=ctx.marketing.campaigns
            )

    sent, found = run(work)
    console.print(f"Sent {sent:,} messages.")
    _show(found)
