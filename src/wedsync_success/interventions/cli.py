"""``wedsync-success playbooks …`` and ``wedsync-success worker``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wedsync_success.kit.cli import console, print_error, run

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.interventions.results_schemas import PlaybookResults
    from wedsync_success.interventions.schemas import PlaybookOut

playbooks_app = typer.Typer(
    help="Intervention playbooks: check a playbooks file, list them, see their results "
    "(treated against control).",
    no_args_is_help=True,
)


@playbooks_app.command("validate")
def validate(
    file: Annotated[
        Path,
        typer.Argument(help="A playbooks YAML file (the shipped one is defaults/playbooks.yaml)"),
    ],
) -> None:
    """Check a playbooks file without starting anything: its schema, the milestones it names,
    its email templates and the placeholders of its texts. Exit status 1 when it has problems."""
    from wedsync_success.config import get_settings
    from wedsync_success.interventions.channels.templates import EmailTemplates
    from wedsync_success.interventions.playbooks import load_playbooks
    from wedsync_success.interventions.validation import check_playbooks
    from wedsync_success.kit.errors import ConfigError
    from wedsync_success.milestones.definitions import load_milestone_catalog

    settings = get_settings()
    try:
        catalog = load_playbooks(file)
        problems = check_playbooks(
            catalog,
            milestone_keys={
                m.key for m in load_milestone_catalog(settings.milestones_config).milestones
            },
            templates=EmailTemplates(settings.email_templates),
        )
    except ConfigError as exc:
        print_error(exc.message, exc.details)
        raise typer.Exit(1) from None
    if problems:
        print_error(f"{file} does not fit the system", problems)
        raise typer.Exit(1)
    steps = sum(len(p.steps) for p in catalog.playbooks)
    console.print(
        f"[green]OK[/] {escape(str(file))}: {len(catalog.playbooks)} playbooks, {steps} steps.",
        highlight=False,
        soft_wrap=True,
    )


@playbooks_app.command("list")
def list_playbooks() -> None:
    """The configured playbooks (WEDSYNC_PLAYBOOKS_CONFIG) with their runs."""

    async def work(ctx: AppContext) -> list[PlaybookOut]:
        from wedsync_success.interventions.service import list_playbooks as listing

        async with ctx.db.sessions() as session:
            return await listing(session=session, catalog=ctx.interventions.catalog)

    table = Table("key", "trigger", "steps", "holdout", "active", "enrolled", title="Playbooks")
    for p in run(work):
        steps = " → ".join(s.kind for s in p.steps)
        table.add_row(
            escape(p.key),
            escape(p.trigger),
            escape(steps),
            f"{p.holdout:.0%}",
            f"{p.active_runs:,}",
            f"{p.enrolled:,}",
        )
    console.print(table)


@playbooks_app.command("results")
def results(
    key: Annotated[str, typer.Argument(help="The playbook's key (see `playbooks list`)")],
) -> None:
    """Treated against control for one playbook: the funnel, goal rates, and retention at
    30/60/90 days with the uplift and its 95 % interval, save rate and MRR retained."""

    async def work(ctx: AppContext) -> PlaybookResults:
        from wedsync_success.interventions.results import playbook_results
        from wedsync_success.interventions.service import playbook_or_404

        playbook_or_404(ctx.interventions.catalog, key)
        async with ctx.db.sessions() as session:
            return await playbook_results(session=session, playbook_key=key, as_of=ctx.clock())

    print_results(run(work))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def print_results(r: PlaybookResults) -> None:
    """The results as a person reads them: arms, funnel, then retention per horizon."""
    console.rule(f"[bold]{escape(r.playbook_key)}[/] as of {r.as_of:%Y-%m-%d}")
    console.print(
        f"Enrolled {r.enrolled:,}: treated {r.treated:,}, control {r.control:,}. "
        f"Goal reached: treated {_pct(r.goal.treated)} ({r.goal.treated_reached:,}), "
        f"control {_pct(r.goal.control)} ({r.goal.control_reached:,})."
    )
    f = r.funnel
    funnel = Table("treated runs", "sent", "delivered", "opened", "clicked", "goal reached")
    funnel.add_row(
        *(f"{n:,}" for n in (f.runs, f.sent, f.delivered, f.opened, f.clicked, f.goal_reached))
    )
    console.print(funnel)
    table = Table(
        "after",
        "treated retained",
        "control retained",
        "uplift [95 % interval]",
        "MRR kept",
        title="Retention",
    )
    for h in r.horizons:
        u = h.uplift
        uplift = (
            f"{u.difference:+.1%} [{u.low:+.1%}, {u.high:+.1%}]"
            if u.difference is not None and u.low is not None and u.high is not None
            else escape(u.reason or "–")
        )
        money = ", ".join(
            f"{m.currency} {m.incremental_mrr_minor / 100:,.2f}"
            for m in h.money
            if m.incremental_mrr_minor is not None
        )
        table.add_row(
            f"{h.days} days",
            f"{_pct(h.treated_retention)} of {h.treated_observed:,}",
            f"{_pct(h.control_retention)} of {h.control_observed:,}",
            uplift,
            money or "–",
        )
    console.print(table)


def worker(
    name: Annotated[
        str | None, typer.Option(help="This worker's name in job claims (default host:pid)")
    ] = None,
    once: Annotated[
        bool, typer.Option(help="Work what is due now, then stop (cron-style)")
    ] = False,
) -> None:
    """Work due intervention steps: send emails, SMS and webhooks, post in-app messages, open
    tasks; send due outbound webhook deliveries and marketing messages. Run as many as you
    like beside the API (set WEDSYNC_RUN_WORKER=false there): on PostgreSQL they share the
    work without ever sending one step or one delivery attempt twice. With a Redis event bus
    (WEDSYNC_EVENT_BUS_URL=redis://…) workers also run the success-event consumers, each a
    consumer group whose work they share."""
    import asyncio

    async def work(ctx: AppContext) -> int:
        runner = ctx.interventions.worker(name=name)
        consumers = ctx.transport.consumer_worker(
            db=ctx.db,
            name=runner.name,
            clock=ctx.clock,
            after_delivery=ctx.dispatcher.announce_delivery,
        )
        if once:
            await runner.sweep_daily()
            total = 0
            while (stats := await runner.work_once()).claimed:
                total += stats.sent
            await ctx.dispatcher.drain()
            if consumers is not None:
                await consumers.drain()
            total += await ctx.webhooks.worker(name=name).drain()
            total += await ctx.marketing.worker(name=name).drain()
            return total
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(
                ctx.dispatcher.run(stop, interval=ctx.settings.dispatch_interval_seconds)
            ),
            asyncio.create_task(
                ctx.webhooks.worker(name=name).run(
                    stop, interval=ctx.settings.worker_interval_seconds
                )
            ),
            asyncio.create_task(
                ctx.marketing.worker(name=name).run(
                    stop, interval=ctx.settings.worker_interval_seconds
                )
            ),
        ]
        if consumers is not None:
            tasks.append(asyncio.create_task(consumers.run(stop)))
        console.print(f"Worker {escape(runner.name)} working due steps (Ctrl-C stops it).")
        try:
            await runner.run(stop, interval=ctx.settings.worker_interval_seconds)
        finally:
            stop.set()
            ctx.dispatcher.notify()
            ctx.webhooks.wake_worker()
            ctx.marketing.wake_worker()
            for task in tasks:
                await task
        return 0

    sent = run(work)
    if once:
        console.print(f"Sent {sent:,} messages.")
