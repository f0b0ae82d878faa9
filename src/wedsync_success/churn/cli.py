"""``wedsync-success churn …``: train, report, list/promote/rollback, score, drift."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from wedsync_success.kit.cli import Stages, console, parse_day, progress_bar, run

if TYPE_CHECKING:
    from wedsync_success.churn.registry import Registry
    from wedsync_success.churn.service import OutcomeSummary, ScoreSummary
    from wedsync_success.context import AppContext

# LightGBM, scikit-learn and matplotlib load inside the commands that use them (through the
# churn modules), never at import: `--help` and every other command stay fast.

churn_app = typer.Typer(
    help="Churn prediction: train, evaluate, choose the active model, score, watch drift.",
    no_args_is_help=True,
)

COLUMNS = (
    ("model", "LightGBM"),
    ("logistic", "Logistic"),
    ("health_score", "Health score"),
    ("tenure", "Tenure"),
)


def _registry() -> Registry:
    from wedsync_success.churn.registry import Registry
    from wedsync_success.config import get_settings

    return Registry(get_settings().churn_registry)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.4f}"
    return str(value)


def print_card(metadata: dict[str, Any]) -> None:
    """The model card: data window, class balance, features, metrics against baselines."""
    from wedsync_success.churn.schemas import CARD_METRICS

    data = metadata["data"]
    console.rule(f"[bold]Churn model {metadata['version']}[/] ({metadata['kind']})")
    if metadata["kind"] == "suppliers":
        console.print(
            f"Label: churned within {metadata['horizon_days']} days. Data {data['first_day']} → "
            f"{data['data_end']}; {data['suppliers']:,} suppliers.\n"
            f"Churn known until {data['churn_known_until']} "
            f"({escape(data['churn_known_until_from'])}); cutoffs at {data['cutoff_spacing']} "
            f"with {data['min_history_days']} days of history behind each.\n"
            f"Train cutoffs {', '.join(data['train_cutoffs'])}\n"
            f"Purged (horizon overlaps the test window) {', '.join(data['purged_cutoffs']) or '–'}"
            f"\nTest cutoffs {', '.join(data['test_cutoffs'])}"
        )
    else:
        dropped = "; ".join(f"{name} ({why})" for name, why in data["dropped_columns"].items())
        console.print(
            f"File {escape(str(data['file']))}, label {escape(repr(data['label']))} "
            f"(churned = {escape(repr(data['positive_value']))}),"
            f" {data['split']}; {data['rows_without_label_skipped']} rows without a label "
            f"skipped; dropped columns: {escape(dropped or 'none')}.",
            highlight=False,
        )
    balance = Table("slice", "rows", "churned", "rate", title="Class balance")
    for name, part in data["rows"].items():
        balance.add_row(name, f"{part['rows']:,}", f"{part['churned']:,}", _fmt(part["rate"]))
    console.print(balance)
    names = metadata["features"]["names"]
    console.print(f"Features ({len(names)}): {escape(', '.join(names))}", highlight=False)
    console.print(
        f"LightGBM: {metadata['best_iteration']} trees; calibration "
        f"{metadata['calibration']['method']}; threshold {metadata['threshold']:.4f}; "
        f"risk bands {metadata['risk_bands']}"
    )
    columns = [(k, label) for k, label in COLUMNS if k in metadata["metrics"]]
    table = Table("metric (held-out)", *(label for _, label in columns), title="Quality")
    for key, label in CARD_METRICS:
        table.add_row(label, *(_fmt(metadata["metrics"][k].get(key)) for k, _ in columns))
    console.print(table)
    top = list(metadata["importance"].items())[:8]
    console.print("Top features by gain: " + ", ".join(f"{escape(k)} ({v:,.0f})" for k, v in top))


def warn_blockers(metadata: dict[str, Any], heading: str) -> None:
    """Print why the model may not be made active automatically, if anything stands in the
    way (see ``churn.promotion``)."""
    reasons = metadata.get("promotion", {}).get("blocked_by", [])
    if reasons:
        console.print(f"[yellow]{heading}:[/]")
        for reason in reasons:
            console.print(f"[yellow]  • {escape(reason)}[/]")


@churn_app.command("train")
def train(
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Train on this CSV instead of the suppliers (bring your own)"),
    ] = None,
    label: Annotated[str | None, typer.Option(help="With --csv: the churn label column")] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="With --csv: account id (rows grouped in CV)")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time", help="With --csv: time column (time split)")
    ] = None,
    horizon: Annotated[int, typer.Option(min=7, max=365, help="Churn horizon in days")] = 60,
    test_cutoffs: Annotated[
        int, typer.Option(min=1, max=52, help="Latest cutoffs held out for testing")
    ] = 3,
    every: Annotated[
        int | None,
        typer.Option(
            min=1, max=366, help="Days between cutoffs, e.g. 7 for weekly (default: month ends)"
        ),
    ] = None,
    min_history: Annotated[
        int,
        typer.Option(min=1, max=3650, help="Days of activity a cutoff needs behind it"),
    ] = 90,
    until: Annotated[
        str | None,
        typer.Option(
            help="Last day churn is known (default: the latest subscription record, never "
            "the last event); no label window goes past it"
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Last day of data to use, as if it were today (default: the latest)"),
    ] = None,
    tune: Annotated[bool, typer.Option(help="Try a small hyper-parameter grid")] = False,
    calibration: Annotated[str, typer.Option(help="platt or isotonic")] = "platt",
    promote: Annotated[
        bool | None,
        typer.Option("--promote/--no-promote", help="Activate it (default: if none active)"),
    ] = None,
    top_event_types: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=200,
            help="Generic features (counts, active days, days since, trend) for this many of "
            "the most frequent event types of the training window (default: event_roles.yaml)",
        ),
    ] = None,
    all_event_types: Annotated[
        bool,
        typer.Option(
            "--all-event-types",
            help="Count the event types a role maps among the most frequent too (default: "
            "they are left to the domain features)",
        ),
    ] = False,
    event_type: Annotated[
        list[str] | None,
        typer.Option(help="An event type that always gets generic features (repeatable)"),
    ] = None,
    ratio: Annotated[
        list[str] | None,
        typer.Option(
            help="A ratio feature A/B: events of A per event of B in 28 days, e.g. "
            "comment_posted/task_created (repeatable; replaces the configured ones)"
        ),
    ] = None,
    auto_ratios: Annotated[
        int | None,
        typer.Option(
            min=0, max=50, help="Plus this many ratios found most informative on training rows"
        ),
    ] = None,
) -> None:
    """Train, evaluate on a later time window, register a new version, print its model card."""
    from wedsync_success.churn import byo, service

    registry = _registry()
    end_day = parse_day(as_of, "--as-of")
    until_day = parse_day(until, "--until")
    if csv_file is not None and label is None:
        raise typer.BadParameter("--csv needs --label COLUMN", param_hint="--label")

    async def work(ctx: AppContext) -> dict[str, Any]:
        with progress_bar() as bar:
            progress = Stages(bar)
            if csv_file is not None:
                assert label is not None
                task = bar.add_task("training", total=None)
                version = byo.train_csv(
                    csv_file,
                    label=label,
                    registry=registry,
                    now=ctx.clock(),
                    id_column=id_column,
                    time_column=time_column,
                    tune=tune,
                    calibration=calibration,
                )
                bar.update(task, total=1, completed=1)
            else:
                options = service.TrainOptions(
                    horizon_days=horizon,
                    test_cutoffs=test_cutoffs,
                    min_history_days=min_history,
                    every_days=every,
                    as_of=end_day,
                    until=until_day,
                    tune=tune,
                    calibration=calibration,
                    promote=promote,
                    **_vocabulary_options(
                        top_event_types, event_type, ratio, auto_ratios, all_event_types
                    ),
                )
                version = await service.train_suppliers(
                    ctx=ctx, registry=registry, options=options, now=ctx.clock(), progress=progress
                )
        return version.metadata

    metadata: dict[str, Any] = run(work)
    print_card(metadata)
    active = registry.active()
    console.print(
        f"[green]Registered {metadata['version']}[/] in {registry.root}"
        + (" (active)." if active == metadata["version"] else ".")
    )
    if active == metadata["version"]:
        warn_blockers(metadata, "Made active by --promote although")
        return
    warn_blockers(metadata, "Not made active automatically")
    if metadata["kind"] == "suppliers":
        console.print(f"Make it active with: wedsync-success churn promote {metadata['version']}")


def _vocabulary_options(
    top: int | None,
    event_types: list[str] | None,
    ratios: list[str] | None,
    auto: int | None,
    all_types: bool = False,
) -> dict[str, Any]:
    """The generic-feature options given on the command line (others keep the config's)."""
    out: dict[str, Any] = {"skip_role_types": False} if all_types else {}
    if top is not None:
        out["top_event_types"] = top
    if event_types:
        out["event_types"] = tuple(event_types)
    if ratios:
        pairs = [tuple(part.strip() for part in r.split("/")) for r in ratios]
        bad = [
            r
            for r, p in zip(ratios, pairs, strict=True)
            if len(p) != 2 or p[0] == p[1] or not all(p)
        ]
        if bad:
            raise typer.BadParameter(
                f"{', '.join(map(repr, bad))}: write a ratio as A/B of two event types",
                param_hint="--ratio",
            )
        out["ratios"] = tuple(pairs)
    if auto is not None:
        out["auto_ratios"] = auto
    return out


@churn_app.command("report")
def report(
    version: Annotated[str, typer.Argument(help="Model version, e.g. v0001")],
    out: Annotated[Path | None, typer.Option(help="Also write the report here")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open it in a browser")] = False,
) -> None:
    """Write the HTML report (ROC/PR, reliability, lift, importance) of VERSION."""
    from wedsync_success.churn.report import render_report

    registry = _registry()

    async def work(_: AppContext) -> Path:
        model = registry.get(version)
        html = render_report(model.metadata)
        path = registry.write_report(version, html)
        if out is not None:
            out.write_text(html, encoding="utf-8")
            return out
        return path

    path: Path = run(work)
    console.print(f"[green]Report written to {path}[/]")
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


@churn_app.command("models")
def models() -> None:
    """List registered model versions; the active one is marked."""
    from wedsync_success.churn.registry import REPORT_FILE

    registry = _registry()
    active = registry.active()
    table = Table("", "version", "kind", "trained", "ROC-AUC", "PR-AUC", "ECE", "report")
    for version in registry.versions():
        meta = registry.get(version).metadata
        m = meta["metrics"]["model"]
        table.add_row(
            "●" if version == active else "",
            version,
            meta["kind"],
            meta["created_at"][:16],
            _fmt(m.get("roc_auc")),
            _fmt(m.get("pr_auc")),
            _fmt(m.get("ece")),
            str(registry.root / version / REPORT_FILE),
        )
    console.print(table)
    if active is None:
        console.print("No active model: run `wedsync-success churn train`.")


@churn_app.command("promote")
def promote(version: Annotated[str, typer.Argument(help="Model version to activate")]) -> None:
    """Make VERSION the active model (used by scoring and the API)."""
    registry = _registry()

    async def work(_: AppContext) -> dict[str, Any]:
        registry.promote(version)
        return registry.get(version).metadata

    metadata: dict[str, Any] = run(work)
    console.print(f"[green]{version} is now the active churn model.[/]")
    warn_blockers(metadata, "It was not made active automatically because")


@churn_app.command("rollback")
def rollback() -> None:
    """Re-activate the model that was active before the current one."""
    registry = _registry()

    async def work(_: AppContext) -> str:
        return registry.rollback()

    console.print(f"[green]Rolled back: {run(work)} is active again.[/]")


@churn_app.command("score")
def score(
    as_of: Annotated[str | None, typer.Option(help="Score as of this day; default today")] = None,
    explain: Annotated[
        str,
        typer.Option(
            help="Risk bands whose drivers are stored with the prediction, comma-separated "
            "(high, medium, low); any supplier's drivers are also computed live by the API"
        ),
    ] = "high",
) -> None:
    """Score every active supplier in one pass and log the predictions, then fill in the
    outcomes of earlier predictions that are now known.

    Activity windows come from the feature store, which is moved to the scoring day first
    (built on the first run); a day before the store's is computed from the rollups.
    """
    from wedsync_success.churn import service

    registry = _registry()
    day = parse_day(as_of, "--as-of")
    bands = tuple(b.strip() for b in explain.split(",") if b.strip())
    unknown = [b for b in bands if b not in ("high", "medium", "low")]
    if unknown:
        raise typer.BadParameter(
            f"unknown risk band {', '.join(unknown)}: use high, medium or low",
            param_hint="--explain",
        )

    async def work(ctx: AppContext) -> tuple[float, ScoreSummary, OutcomeSummary]:
        as_of = day or ctx.clock().date()
        started = time.perf_counter()
        async with ctx.db.transaction() as session:
            await service.roll_feature_store(session=session, as_of=as_of, now=ctx.clock())
        rolled = time.perf_counter() - started
        async with ctx.db.transaction() as session:
            scored = await service.score_all(
                session=session,
                registry=registry,
                as_of=as_of,
                now=ctx.clock(),
                rates=ctx.settings.rates,
                explain_bands=bands,
            )
        async with ctx.db.transaction() as session:
            known = await service.fill_outcomes(session=session, now=ctx.clock())
        return rolled, scored, known

    rolled, summary, known = run(work)
    table = Table("risk band", "suppliers", title=f"Churn risk as of {summary.as_of}")
    for band in ("high", "medium", "low"):
        table.add_row(band, f"{summary.bands.get(band, 0):,}")
    console.print(table)
    timing = ", ".join(f"{k} {v:.2f} s" for k, v in summary.seconds.items())
    console.print(
        f"Feature store at {summary.as_of} ({rolled:.2f} s); activity read from the "
        f"{'feature store' if summary.source == 'store' else 'rollups'}."
    )
    console.print(
        f"Scored {summary.scored:,} suppliers with {summary.model_version} ({timing}); "
        f"drivers stored for {summary.explained:,} ({', '.join(bands) or 'none'})."
    )
    console.print(
        f"Outcomes now known for earlier predictions: {known.churned:,} churned, "
        f"{known.stayed:,} stayed ({known.seconds:.2f} s)."
    )


@churn_app.command("drift")
def drift(
    as_of: Annotated[str | None, typer.Option(help="Live features as of this day")] = None,
    version: Annotated[str | None, typer.Option(help="Model version (default: active)")] = None,
) -> None:
    """Population stability index of each live feature against the training data."""
    from wedsync_success.churn import service

    registry = _registry()
    day = parse_day(as_of, "--as-of")

    async def work(ctx: AppContext) -> Any:
        async with ctx.db.sessions() as session:
            return await service.drift(
                session=session,
                registry=registry,
                as_of=day or ctx.clock().date(),
                version=version,
            )

    used, rows, results = run(work)
    colours = {"drifted": "red", "moderate": "yellow", "stable": "green", "calendar": "dim"}
    table = Table("feature", "PSI", "status", title=f"Drift of {used} on {rows:,} suppliers")
    for d in results:
        table.add_row(d.feature, f"{d.psi:.3f}", f"[{colours[d.status]}]{d.status}[/]")
    console.print(table)
    drifted = [d.feature for d in results if d.status == "drifted"]
    console.print(
        f"[red]Drifted (PSI > 0.25): {', '.join(drifted)}[/]"
        if drifted
        else "[green]No feature drifted (PSI ≤ 0.25).[/]"
    )


@churn_app.command("outcomes")
def outcomes() -> None:
    """Fill in known outcomes and show each model's quality on real outcomes so far."""
    from wedsync_success.churn import service

    async def work(ctx: AppContext) -> dict[str, dict[str, Any]]:
        async with ctx.db.transaction() as session:
            return await service.outcome_quality(
                session=session, now=ctx.clock(), registry=_registry()
            )

    results: dict[str, dict[str, Any]] = run(work)
    table = Table("version", "with outcome", "churned", "ROC-AUC", "Brier", "ECE")
    for version, m in results.items():
        table.add_row(
            version,
            _fmt(m["rows"]),
            _fmt(m["positives"]),
            _fmt(m["roc_auc"]),
            _fmt(m["brier"]),
            _fmt(m["ece"]),
        )
    console.print(table)
    if not results:
        console.print("No logged prediction has a known outcome yet.")
