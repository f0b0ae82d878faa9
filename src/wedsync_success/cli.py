"""The ``wedsync-success`` command line.

Importing this module loads Typer and Rich only: each command imports the domains, the
database and the heavy libraries (LightGBM, scikit-learn, matplotlib, the web app) it needs
when it runs, so ``--help`` and the light commands start at once (``benchmarks/cli_startup.py``;
a test checks what an import loads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wedsync_success.churn.cli import churn_app
from wedsync_success.import_cli import import_app
from wedsync_success.integrations.marketing.cli import marketing_app
from wedsync_success.integrations.referrals.cli import referrals_app
from wedsync_success.integrations.webhooks.cli import secrets_app
from wedsync_success.interventions.cli import playbooks_app
from wedsync_success.interventions.cli import worker as worker_command
from wedsync_success.kit.cli import (
    Stages,
    console,
    err_console,
    parse_day,
    parse_uuid,
    progress_bar,
)
from wedsync_success.kit.cli import run as _run  # every command body below runs through it
from wedsync_success.monthly_cli import monthly_command
from wedsync_success.reports.cli import report_app
from wedsync_success.reports.retention_cli import retention as report_retention
from wedsync_success.segments.cli import segments_app
from wedsync_success.surveys.cli import csat as csat_command
from wedsync_success.surveys.cli import nps as nps_command
from wedsync_success.surveys.cli import surveys_app

if TYPE_CHECKING:
    from wedsync_success.config import Settings
    from wedsync_success.context import AppContext

app = typer.Typer(
    help="WedSync Success: health scores, milestones and success events for wedding suppliers.\n\n"
    "The database is WEDSYNC_DATABASE_URL (default: SQLite in ./var). Start with "
    "`wedsync-success demo` to see everything working on synthetic data.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(
    help="Database schema migrations: upgrade, show the current revision.", no_args_is_help=True
)
health_app = typer.Typer(
    help="Health scores: rescore every supplier, backfill history.", no_args_is_help=True
)
suppliers_app = typer.Typer(
    help="Look up a supplier: health, explanation, milestones.", no_args_is_help=True
)
apikey_app = typer.Typer(
    help="API keys for the HTTP API: create, list, revoke.", no_args_is_help=True
)
events_app = typer.Typer(
    help="Success events and the outbox: deliver pending events.", no_args_is_help=True
)
user_app = typer.Typer(help="Dashboard accounts for the success team.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(health_app, name="health")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(apikey_app, name="apikey")
app.add_typer(events_app, name="events")
app.add_typer(churn_app, name="churn")
app.add_typer(user_app, name="user")
app.add_typer(playbooks_app, name="playbooks")
report_app.command("retention")(report_retention)
report_app.command("monthly")(monthly_command)
app.add_typer(report_app, name="report")
app.add_typer(surveys_app, name="surveys")
app.add_typer(segments_app, name="segments")
app.add_typer(referrals_app, name="referrals")
report_app.command("nps")(nps_command)  # also `surveys nps` / `surveys csat`
report_app.command("csat")(csat_command)
app.command("worker")(worker_command)
app.add_typer(marketing_app, name="marketing")
app.add_typer(secrets_app, name="secrets")

DEMO_EMAIL = "demo@wedsync.example"
DEMO_PASSWORD = "wedsync-demo"
DEMO_SECRET_KEY_FILE = Path("var/secret_key")
DEMO_MAIL_FOLDER = Path("var/mail")


# --- db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from wedsync_success.config import get_settings
    from wedsync_success.db import migrate

    url = get_settings().database_url
    migrate.upgrade(url, revision)
    console.print(f"[green]Database at {_safe_url(url)} is at revision {revision}.[/]")


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    from wedsync_success.config import get_settings
    from wedsync_success.db import migrate

    migrate.current(get_settings().database_url)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine.url import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- serve & demo -------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes sharing the port (more than 1 needs a shared event bus: "
            "WEDSYNC_EVENT_BUS_URL=redis://...)",
        ),
    ] = 1,
) -> None:
    """Serve the dashboard and the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from wedsync_success.config import get_settings
    from wedsync_success.kit.errors import WedSyncError
    from wedsync_success.web.app import create_app
    from wedsync_success.web.serving import (
        APP_FACTORY,
        WORKER_HEALTHCHECK_SECONDS,
        workers_refusal,
    )

    try:
        settings = get_settings()
        refusal = workers_refusal(workers, settings.event_bus_url)
        if refusal:
            raise WedSyncError(refusal)
        application = create_app(settings)
    except WedSyncError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
        + (f" with {workers} worker processes" if workers > 1 else "")
    )
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    else:  # each worker process builds its own app (and context) from the same settings
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


FIRST_CURL = "/api/v1/suppliers?risk_level=critical&current_only=true&limit=5"
"""The demo's first API call (the README's too): the current customers most at risk."""


@dataclass(frozen=True)
class _DemoAccess:
    secret: str
    account: bool
    """Whether the demo's dashboard account exists in this database."""


@app.command()
def demo(
    suppliers: Annotated[int, typer.Option(help="Synthetic suppliers to generate")] = 2000,
    months: Annotated[int, typer.Option(help="Months of activity history")] = 18,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world)")] = 7,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve when done")] = True,
    host: Annotated[str, typer.Option(help="Interface to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
) -> None:
    """Create the database, seed a realistic synthetic population, train the churn model,
    score everyone, and serve the dashboard and the API.

    An already-seeded database is kept as it is and served; each run prints how to sign in
    and a new admin API key.
    """
    from wedsync_success import demo as demo_seed
    from wedsync_success.access.service import create_key
    from wedsync_success.config import get_settings
    from wedsync_success.db import migrate
    from wedsync_success.kit.errors import WedSyncError
    from wedsync_success.synthetic import generate_population

    settings = get_settings()
    started = time.perf_counter()

    async def work(ctx: AppContext) -> _DemoAccess:
        if await demo_seed.is_seeded(ctx):
            console.print(
                "[yellow]The database already holds suppliers: keeping them (for a fresh demo, "
                "delete var/ first).[/]"
            )
            account = await demo_seed.has_account(ctx, DEMO_EMAIL)
        else:
            await _seed_demo(ctx)
            account = True
        async with ctx.db.transaction() as session:
            key = await create_key(session=session, name="demo", scopes=["admin"], now=ctx.clock())
        return _DemoAccess(secret=key.secret, account=account)

    async def _seed_demo(ctx: AppContext) -> None:
        with progress_bar() as bar:
            stages = Stages(bar)
            stages("generating", 0, 1)
            population = generate_population(
                suppliers=suppliers, months=months, seed=seed, end=ctx.clock()
            )
            stages("generating", 1, 1)
            console.print(
                f"Generated {len(population.suppliers):,} suppliers and "
                f"{len(population.events):,} events over {months} months."
            )
            summary = await demo_seed.seed(
                ctx,
                population,
                progress=stages,
                team=demo_seed.DEMO_TEAM,
                password=DEMO_PASSWORD,
            )
            console.print(
                f"[green]Seeded {summary.suppliers:,} suppliers, {summary.events_stored:,} "
                f"events, {summary.history_days} days of score history.[/]"
            )
            try:
                version, scored = await demo_seed.churn_model(
                    ctx, settings.churn_registry, progress=stages
                )
            except WedSyncError as exc:
                console.print(f"[yellow]No churn model: {escape(exc.message)}[/]")
            else:
                console.print(
                    f"[green]Churn model {version.version} trained and active; "
                    f"{scored.scored:,} suppliers scored, {scored.bands.get('high', 0):,} at "
                    "high risk.[/]"
                )
                for reason in version.metadata["promotion"]["blocked_by"]:
                    console.print(
                        f"[yellow]  Made active for the demo, though training alone would not "
                        f"have: {escape(reason)}.[/]",
                        highlight=False,
                    )

    console.print(f"Database {escape(_safe_url(settings.database_url))}: migrating…")
    migrate.upgrade(settings.database_url)
    access = _run(work, settings)
    base = f"http://{host}:{port}"
    console.print(f"\nReady in {time.perf_counter() - started:.0f} s.", highlight=False)
    if access.account:
        console.print(
            f"Dashboard: {base}/  sign in as [bold]{DEMO_EMAIL}[/] / [bold]{DEMO_PASSWORD}[/]",
            soft_wrap=True,
        )
        others = ", ".join(
            f"{m.email} ({m.role})" for m in demo_seed.DEMO_TEAM if m.email != DEMO_EMAIL
        )
        console.print(f"  The rest of the team, same password: {others}", soft_wrap=True)
    else:
        console.print(
            f"Dashboard: {base}/  (no demo account in this database; make one with "
            "`wedsync-success user create --email YOU --name NAME`)",
            soft_wrap=True,
        )
    console.print(
        f"New admin API key: [bold]{access.secret}[/]  (earlier ones stay valid: "
        "`wedsync-success apikey list`, `apikey revoke ID`)",
        soft_wrap=True,
    )
    console.print(
        f"  curl -H 'Authorization: Bearer {access.secret}' '{base}{FIRST_CURL}'",
        soft_wrap=True,
        highlight=False,
    )
    if serve_after:
        _use_demo_secret_key(settings)
        _use_demo_channels(settings)
        serve(host=host, port=port)


def _use_demo_secret_key(settings: Settings) -> None:
    """The demo signs sessions with a key of its own, kept in var/ so they survive restarts."""
    import os

    from wedsync_success.config import demo_secret_key, get_settings

    if settings.secret_key is None:
        os.environ["WEDSYNC_SECRET_KEY"] = demo_secret_key(DEMO_SECRET_KEY_FILE)
        get_settings.cache_clear()


def _use_demo_channels(settings: Settings) -> None:
    """The demo's emails go to a local SMTP server keeping them in var/mail/ (unless
    WEDSYNC_SMTP_URL is set), and its supplier-app demo pages are on."""
    import os

    from wedsync_success.config import get_settings
    from wedsync_success.interventions.channels.mail_catcher import start_mail_catcher

    os.environ.setdefault("WEDSYNC_DEMO_PAGES", "true")
    if settings.smtp_url is None:
        catcher = start_mail_catcher(DEMO_MAIL_FOLDER)
        os.environ["WEDSYNC_SMTP_URL"] = f"smtp://127.0.0.1:{catcher.port}"
        console.print(
            f"Playbook emails go to a local SMTP server (port {catcher.port}) and land in "
            f"{DEMO_MAIL_FOLDER}/ as .eml files; set WEDSYNC_SMTP_URL to use your own."
        )
    get_settings.cache_clear()


# --- health -------------------------------------------------------------------------------------


@health_app.command("recompute")
def health_recompute(
    as_of: Annotated[
        str | None, typer.Option(help="Score as of this day (YYYY-MM-DD); default today")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Backfill history from this day to --as-of")
    ] = None,
    every: Annotated[int, typer.Option(min=1, help="With --since: days between scores")] = 1,
) -> None:
    """Detect milestones and rescore every active supplier (vectorised over rollups)."""
    from wedsync_success.pipeline import rescore_all

    end_day = parse_day(as_of, "--as-of")
    start_day = parse_day(since, "--since")

    async def work(ctx: AppContext) -> None:
        last = end_day or ctx.clock().date()
        days = [last]
        if start_day is not None:
            if start_day > last:
                raise typer.BadParameter("--since must not be after --as-of", param_hint="--since")
            n = (last - start_day).days // every
            days = sorted({start_day + timedelta(days=i * every) for i in range(n + 1)} | {last})
        with progress_bar() as bar:
            task = bar.add_task("rescoring", total=len(days))
            for day in days:
                started = datetime.now()
                async with ctx.db.transaction() as session:
                    summary = await rescore_all(session=session, ctx=ctx, as_of=day)
                elapsed = (datetime.now() - started).total_seconds()
                bar.update(task, advance=1)
        await ctx.dispatcher.drain()
        table = Table("risk level", "suppliers", title=f"Scores as of {summary.as_of}")
        for level in ("healthy", "watch", "at_risk", "critical", "onboarding"):
            table.add_row(level, f"{summary.risk_levels.get(level, 0):,}")
        console.print(table)
        console.print(
            f"Scored {summary.scored:,} suppliers in {elapsed:.2f} s; "
            f"{summary.events} success events emitted."
        )

    _run(work)


# --- suppliers ----------------------------------------------------------------------------------


@suppliers_app.command("show")
def suppliers_show(
    supplier_id: Annotated[str, typer.Argument(help="Supplier id (UUID) or external id")],
) -> None:
    """Show a supplier's health, its explanation and milestones."""
    from wedsync_success.suppliers.profile import supplier_profile

    async def work(ctx: AppContext) -> None:
        async with ctx.db.sessions() as session:
            p = await supplier_profile(
                session=session, ref=supplier_id, health_config=ctx.health, catalog=ctx.milestones
            )
        # Names and reasons are the customer's data: printed as given, never as markup.
        console.rule(f"[bold]{escape(p.business_name)}[/] — {p.vendor_type}, {p.country}")
        console.print(
            f"Plan {p.plan_tier} ({p.mrr_minor / 100:.2f} {p.currency}/month), "
            f"{p.subscription_status}, signed up {p.signed_up_at:%Y-%m-%d}"
        )
        if p.health:
            h = p.health
            trend = " ".join(
                f"{label} {v:+.1f}"
                for label, v in (("7d", h.change_7d), ("30d", h.change_30d))
                if v is not None
            )
            console.print(
                f"\nHealth [bold]{h.score:.1f}[/] ({h.risk_level}) as of {h.as_of}  {trend}"
            )
            table = Table("component", "score", "healthy", "against healthy", "why")
            for f in [*h.explanation.strengths, *h.explanation.gaps]:
                against = (
                    f"[green]on track {f.impact:+.1f}[/]"
                    if f.status == "on_track"
                    else f"[red]gap {f.impact:+.1f}[/]"
                )
                table.add_row(
                    f.component, f"{f.score:.0f}", f"{f.healthy:.0f}", against, Text(f.detail)
                )
            console.print(table)
            for i in h.explanation.improvements[:3]:
                console.print(f"Would raise it: {escape(i.action)} [green]+{i.points:.1f}[/]")
        milestones = Table("milestone", "status")
        for m in p.milestones:
            status = (
                f"[green]✓ {m.achieved_at:%Y-%m-%d}[/] ({m.days_to_achieve:.0f} days)"
                if m.achieved and m.achieved_at and m.days_to_achieve is not None
                else f"{m.progress:.0%}"
            )
            milestones.add_row(Text(m.name), status)
        console.print(milestones)

    _run(work)


# --- API keys -----------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    scope: Annotated[
        list[str], typer.Option(help="ingest, read, inapp or admin; repeat for several")
    ],
    name: Annotated[str, typer.Option(help="Who or what the key is for")] = "cli",
) -> None:
    """Issue an API key. The secret is printed once and never stored."""
    from wedsync_success.access.service import create_key

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            key = await create_key(session=session, name=name, scopes=scope, now=ctx.clock())
        console.print(f"Key {key.id} ({', '.join(key.scopes)}):")
        console.print(key.secret, highlight=False, soft_wrap=True)

    _run(work)


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never their secrets)."""
    from wedsync_success.access.service import list_keys

    async def work(ctx: AppContext) -> None:
        async with ctx.db.sessions() as session:
            keys = await list_keys(session=session)
        table = Table("id", "name", "prefix", "scopes", "created", "revoked")
        for k in keys:
            table.add_row(
                str(k.id),
                Text(k.name),
                k.prefix + "…",
                ", ".join(k.scopes),
                f"{k.created_at:%Y-%m-%d %H:%M}",
                f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
            )
        console.print(table)

    _run(work)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="Key id from `apikey list`")]) -> None:
    """Revoke an API key at once."""
    from wedsync_success.access.service import revoke_key

    kid = parse_uuid(key_id, "KEY_ID")

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            await revoke_key(session=session, key_id=kid, now=ctx.clock())
        console.print(f"Revoked {kid}.")

    _run(work)


# --- dashboard users ----------------------------------------------------------------------------


def _password_option(prompt: str) -> Any:
    """A password option, prompted twice and never echoed when it is not given."""
    return typer.Option(
        prompt=prompt,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 10 characters (prompted when omitted)",
    )


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    name: Annotated[str, typer.Option(help="Name shown in the dashboard")],
    password: Annotated[str, _password_option("Password")],
    role: Annotated[
        str,
        typer.Option(
            help="admin (everything, and the team), manager (own accounts, send, assign, "
            "notes, tasks) or viewer (reads every page, changes nothing)"
        ),
    ] = "manager",
) -> None:
    """Create a success-team account for the dashboard (password hashed with Argon2id)."""
    from wedsync_success.access.team import create_user, parse_role

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            user = await create_user(
                session=session,
                email=email,
                name=name,
                password=password,
                now=ctx.clock(),
                role=parse_role(role),
            )
        console.print(f"Created {escape(user.email)} ({user.role}). Sign in at /login.")

    _run(work)


@user_app.command("role")
def user_role(
    email: Annotated[str, typer.Argument(help="The account's sign-in email")],
    role: Annotated[str, typer.Argument(help="admin, manager or viewer")],
) -> None:
    """Give EMAIL another role (it applies from the account's next request).

    Example: wedsync-success user role sam@example.com viewer
    """
    from wedsync_success.access.team import parse_role, set_role

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            user = await set_role(session=session, email=email, role=parse_role(role))
        console.print(f"{escape(user.email)} is now {user.role}.")

    _run(work)


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The account's sign-in email")],
    password: Annotated[str, _password_option("New password")],
) -> None:
    """Set a new password for EMAIL and sign the account out everywhere."""
    from wedsync_success.access.team import change_password

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            user, ended = await change_password(session=session, email=email, password=password)
        console.print(f"Password of {escape(user.email)} changed; {ended} session(s) ended.")

    _run(work)


@user_app.command("disable")
def user_disable(
    email: Annotated[str, typer.Argument(help="The account's sign-in email")],
) -> None:
    """Refuse EMAIL's sign-ins from now on and end every session of the account."""
    from wedsync_success.access.team import disable_user

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            user, ended = await disable_user(session=session, email=email, now=ctx.clock())
        console.print(f"Disabled {escape(user.email)}; {ended} session(s) ended.")

    _run(work)


# --- events -------------------------------------------------------------------------------------


@events_app.command("dispatch")
def events_dispatch() -> None:
    """Deliver every pending success event in the outbox now."""

    async def work(ctx: AppContext) -> int:
        return await ctx.dispatcher.drain()

    console.print(f"Delivered {_run(work):,} events.")


@events_app.command("prune")
def events_prune(
    months: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1200,
            help="Months of raw events to keep before the current one "
            "(default: WEDSYNC_RAW_EVENT_RETENTION_MONTHS)",
        ),
    ] = None,
    archive: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="First write each month removed to a gzip CSV file in this folder "
            "(with manifest.json), which `import events` loads back",
        ),
    ] = None,
) -> None:
    """Remove raw activity events older than the retention window, whole months at a time.

    Keeps the current month and MONTHS before it. On PostgreSQL each month is a partition,
    detached and dropped at once. Rollups, health scores and churn features are kept: they
    are computed from the rollups. From then on an import refuses events dated before the
    window (they may have been counted already; the report names them). Run it from cron
    (monthly at least): it also creates the current and next months' partitions ahead.
    """
    from wedsync_success.activity.retention import PruneReport, horizon, prune_raw_events

    async def work(ctx: AppContext) -> tuple[str, PruneReport]:
        keep = months if months is not None else ctx.settings.raw_event_retention_months
        if keep is None:
            raise typer.BadParameter(
                "give --months or set WEDSYNC_RAW_EVENT_RETENTION_MONTHS", param_hint="--months"
            )
        before = horizon(ctx.clock().date(), keep)
        with progress_bar() as bar:
            task = bar.add_task("events removed", total=None)
            report = await prune_raw_events(
                ctx,
                before=before,
                archive=archive,
                progress=lambda n: bar.update(task, completed=n),
            )
        return before.date().isoformat(), report

    before, report = _run(work)
    spanned = f" ({', '.join(report.months)})" if report.months else ""
    console.print(
        f"Removed {report.deleted:,} raw events from before {before}{spanned}; rollups are kept."
    )
    if report.archived:
        console.print(
            f"Archived {len(report.archived)} month(s) into {archive}: "
            + ", ".join(path.name for path in report.archived)
        )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
