"""The ``wedsync-success`` command line."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from wedsync_success.churn.cli import churn_app
from wedsync_success.config import Settings, get_settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db import migrate
from wedsync_success.kit.cli import parse_day
from wedsync_success.kit.errors import WedSyncError

T = TypeVar("T")

app = typer.Typer(
    help="WedSync Success: health scores, milestones and success events for wedding suppliers.\n\n"
    "The database is WEDSYNC_DATABASE_URL (default: SQLite in ./var). Start with "
    "`wedsync-success demo` to see everything working on synthetic data.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
health_app = typer.Typer(help="Health scores.", no_args_is_help=True)
suppliers_app = typer.Typer(help="Look up suppliers.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)
events_app = typer.Typer(help="Success events and the outbox.", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard accounts for the success team.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(health_app, name="health")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(apikey_app, name="apikey")
app.add_typer(events_app, name="events")
app.add_typer(churn_app, name="churn")
app.add_typer(user_app, name="user")

console = Console()
DEMO_EMAIL = "demo@wedsync.example"
DEMO_PASSWORD = "wedsync-demo"
DEMO_SECRET_KEY_FILE = Path("var/secret_key")
err_console = Console(stderr=True)


def _run(work: Callable[[AppContext], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` with a context, turning application errors into a clear message and exit 1."""

    async def main() -> T:
        ctx = build_context(settings or get_settings())
        try:
            return await work(ctx)
        finally:
            await ctx.close()

    try:
        return asyncio.run(main())
    except WedSyncError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}")
        for detail in exc.details or []:
            err_console.print(f"  • {detail.get('field', '')}: {detail.get('reason', '')}")
        raise typer.Exit(1) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


# --- db -----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    console.print(f"[green]Database at {_safe_url(url)} is at revision {revision}.[/]")


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    migrate.current(get_settings().database_url)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine.url import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- serve & demo -------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from wedsync_success.web.app import create_app

    try:
        application = create_app()
    except WedSyncError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(application, host=host, port=port, log_level="warning")


@app.command()
def demo(
    suppliers: Annotated[int, typer.Option(help="Synthetic suppliers to generate")] = 2000,
    months: Annotated[int, typer.Option(help="Months of activity history")] = 18,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world)")] = 7,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve when done")] = True,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Create the database, seed a realistic synthetic population, score it, and serve the API.

    An already-seeded database is left as it is and just served.
    """
    from wedsync_success import demo as demo_seed
    from wedsync_success.access.service import create_key
    from wedsync_success.access.team import create_user
    from wedsync_success.synthetic import generate_population

    settings = get_settings()
    migrate.upgrade(settings.database_url)

    async def work(ctx: AppContext) -> str | None:
        if await demo_seed.is_seeded(ctx):
            console.print("[yellow]The database already holds suppliers; skipping seeding.[/]")
            return None
        with console.status(f"Generating {suppliers:,} suppliers × {months} months…"):
            population = generate_population(
                suppliers=suppliers, months=months, seed=seed, end=ctx.clock()
            )
        console.print(
            f"Generated {len(population.suppliers):,} suppliers and "
            f"{len(population.events):,} events."
        )
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            summary = await demo_seed.seed(ctx, population, progress=progress)
        async with ctx.db.transaction() as session:
            key = await create_key(session=session, name="demo", scopes=["admin"], now=ctx.clock())
            await create_user(
                session=session,
                email=DEMO_EMAIL,
                name="Demo Success Manager",
                password=DEMO_PASSWORD,
                now=ctx.clock(),
            )
        console.print(
            f"[green]Seeded {summary.suppliers:,} suppliers, {summary.events_accepted:,} events, "
            f"{summary.history_days} days of score history.[/]"
        )
        with console.status("Training the churn model and scoring every supplier…"):
            try:
                version, scored = await demo_seed.churn_model(ctx, settings.churn_registry)
            except WedSyncError as exc:
                console.print(f"[yellow]No churn model: {exc}[/]")
            else:
                console.print(
                    f"[green]Churn model {version} trained and active; {scored.scored:,} "
                    f"suppliers scored, {scored.bands.get('high', 0):,} at high risk.[/]"
                )
        return key.secret

    secret = _run(work, settings)
    console.print(
        f"\nDashboard: http://{host}:{port}/  sign in as [bold]{DEMO_EMAIL}[/] / "
        f"[bold]{DEMO_PASSWORD}[/]",
        soft_wrap=True,
    )
    if secret:
        console.print(f"Demo API key (admin): [bold]{secret}[/]", soft_wrap=True)
        console.print(
            f"  curl -H 'Authorization: Bearer {secret}' "
            f"'http://{host}:{port}/api/v1/suppliers?risk_level=critical&status=active'",
            soft_wrap=True,
            highlight=False,
        )
    if serve_after:
        _use_demo_secret_key(settings)
        serve(host=host, port=port)


def _use_demo_secret_key(settings: Settings) -> None:
    """The demo signs sessions with a key of its own, kept in var/ so they survive restarts."""
    import os

    from wedsync_success.config import demo_secret_key

    if settings.secret_key is None:
        os.environ["WEDSYNC_SECRET_KEY"] = demo_secret_key(DEMO_SECRET_KEY_FILE)
        get_settings.cache_clear()


# --- import -------------------------------------------------------------------------------------


@import_app.command("events")
def import_events(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A .csv or .jsonl file of events"
        ),
    ],
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="Events per batch")] = 1000,
    errors_out: Annotated[
        Path | None, typer.Option(help="Also write rejected lines here (CSV)")
    ] = None,
) -> None:
    """Import activity events from FILE, reporting every rejected line.

    CSV columns: event_id, supplier_id, user_id, type, occurred_at, properties (a JSON
    object); any other column is added to properties. JSONL: one event object per line.
    Re-importing a file is safe: events already stored are counted as duplicates.
    """
    from wedsync_success.activity.importer import read_batches
    from wedsync_success.pipeline import ingest

    size = file.stat().st_size

    async def work(ctx: AppContext) -> list[tuple[int, str, str]]:
        problems: list[tuple[int, str, str]] = []
        totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
        with _progress() as bar:
            task = bar.add_task("importing", total=size)
            for batch in read_batches(file, batch_size=batch_size):
                problems.extend((line, "", reason) for line, reason in batch.unreadable)
                totals["rejected"] += len(batch.unreadable)
                if batch.items:
                    async with ctx.db.transaction() as session:
                        result = await ingest(session=session, ctx=ctx, items=batch.items)
                    totals["accepted"] += result.accepted
                    totals["duplicates"] += result.duplicates
                    totals["rejected"] += result.rejected
                    problems.extend(
                        (batch.lines[e.index], e.field, e.reason) for e in result.errors
                    )
                bar.update(task, completed=batch.bytes_read)
        await ctx.db.refresh_statistics()
        await ctx.dispatcher.drain()
        console.print(
            f"[green]{totals['accepted']:,} accepted[/], {totals['duplicates']:,} duplicates, "
            f"[red]{totals['rejected']:,} rejected[/]."
        )
        return sorted(problems)

    problems = _run(work)
    if problems:
        table = Table("line", "field", "reason", title="Rejected lines")
        for line, field, reason in problems[:50]:
            table.add_row(str(line), field, reason)
        console.print(table)
        if len(problems) > 50:
            console.print(f"… and {len(problems) - 50:,} more.")
        if errors_out:
            import csv

            with errors_out.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["line", "field", "reason"])
                writer.writerows(problems)
            console.print(f"All rejected lines written to {errors_out}.")
        raise typer.Exit(2)


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
        with _progress() as bar:
            task = bar.add_task("rescoring", total=len(days))
            for day in days:
                started = datetime.now()
                async with ctx.db.transaction() as session:
                    summary = await rescore_all(session=session, ctx=ctx, as_of=day)
                elapsed = (datetime.now() - started).total_seconds()
                bar.update(task, advance=1)
        await ctx.dispatcher.drain()
        table = Table("risk level", "suppliers", title=f"Scores as of {summary.as_of}")
        for level in ("healthy", "watch", "at_risk", "critical"):
            table.add_row(level, f"{summary.risk_levels.get(level, 0):,}")
        console.print(table)
        console.print(
            f"Scored {summary.scored:,} suppliers in {elapsed:.2f} s; "
            f"{summary.events} success events emitted."
        )

    _run(work)


# --- suppliers ----------------------------------------------------------------------------------


@suppliers_app.command("show")
def suppliers_show(supplier_id: Annotated[str, typer.Argument(help="Supplier id (UUID)")]) -> None:
    """Show a supplier's health, its explanation and milestones."""
    from wedsync_success.suppliers.profile import supplier_profile

    try:
        sid = uuid.UUID(supplier_id)
    except ValueError:
        raise typer.BadParameter("not a UUID", param_hint="SUPPLIER_ID") from None

    async def work(ctx: AppContext) -> None:
        async with ctx.db.sessions() as session:
            p = await supplier_profile(
                session=session, supplier_id=sid, health_config=ctx.health, catalog=ctx.milestones
            )
        console.rule(f"[bold]{p.business_name}[/] — {p.vendor_type}, {p.country}")
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
            table = Table("component", "score", "impact", "why")
            for f in [*h.explanation.raising, *h.explanation.lowering]:
                colour = "green" if f.impact > 0 else "red"
                table.add_row(
                    f.component, f"{f.score:.0f}", f"[{colour}]{f.impact:+.1f}[/]", f.detail
                )
            console.print(table)
        milestones = Table("milestone", "status")
        for m in p.milestones:
            status = (
                f"[green]✓ {m.achieved_at:%Y-%m-%d}[/] ({m.days_to_achieve:.0f} days)"
                if m.achieved and m.achieved_at and m.days_to_achieve is not None
                else f"{m.progress:.0%}"
            )
            milestones.add_row(m.name, status)
        console.print(milestones)

    _run(work)


# --- API keys -----------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    scope: Annotated[list[str], typer.Option(help="ingest, read or admin; repeat for several")],
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
                k.name,
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

    try:
        kid = uuid.UUID(key_id)
    except ValueError:
        raise typer.BadParameter("not a UUID", param_hint="KEY_ID") from None

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            await revoke_key(session=session, key_id=kid, now=ctx.clock())
        console.print(f"Revoked {kid}.")

    _run(work)


# --- dashboard users ----------------------------------------------------------------------------


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    name: Annotated[str, typer.Option(help="Name shown in the dashboard")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 10 characters (prompted when omitted)",
        ),
    ],
) -> None:
    """Create a success-team account for the dashboard (password hashed with Argon2id)."""
    from wedsync_success.access.team import create_user

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            user = await create_user(
                session=session, email=email, name=name, password=password, now=ctx.clock()
            )
        console.print(f"Created {user.email}. Sign in at /login.")

    _run(work)


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The account's sign-in email")],
    password: Annotated[
        str,
        typer.Option(
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            help="At least 10 characters (prompted when omitted)",
        ),
    ],
) -> None:
    """Set a new password for EMAIL and sign the account out everywhere."""
    from wedsync_success.access.team import change_password

    async def work(ctx: AppContext) -> None:
        async with ctx.db.transaction() as session:
            user, ended = await change_password(session=session, email=email, password=password)
        console.print(f"Password of {user.email} changed; {ended} session(s) ended.")

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
        console.print(f"Disabled {user.email}; {ended} session(s) ended.")

    _run(work)


# --- events -------------------------------------------------------------------------------------


@events_app.command("dispatch")
def events_dispatch() -> None:
    """Deliver every pending success event in the outbox now."""

    async def work(ctx: AppContext) -> int:
        return await ctx.dispatcher.drain()

    console.print(f"Delivered {_run(work):,} events.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
