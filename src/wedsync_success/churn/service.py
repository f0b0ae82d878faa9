"""Churn use cases: train on the suppliers, score them all, predict one, explain, drift.

No HTTP and no raw SQL here (see ``repository`` and ``features``); the caller owns the
transaction. Every "as of" date is a parameter.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.churn import feature_store, promotion, repository
from wedsync_success.churn.calibration import fit_calibrator
from wedsync_success.churn.drift import FeatureDrift, compare, reference
from wedsync_success.churn.evaluation import choose_threshold, curves, metrics
from wedsync_success.churn.explain import as_logged, drivers_of_rows
from wedsync_success.churn.features import (
    CALENDAR_FEATURES,
    CATEGORICAL,
    FeatureSpec,
    Source,
    compute_features,
    cutoff_seconds,
    load_plan_changes,
)
from wedsync_success.churn.generic import EventFeatures, informative_pairs, pair_values
from wedsync_success.churn.labels import (
    DAY_SECONDS,
    align,
    churn_labels,
    period_labels,
    training_cutoffs,
)
from wedsync_success.churn.prediction import PREDICTORS
from wedsync_success.churn.registry import ModelVersion, Registry
from wedsync_success.churn.report import render_report
from wedsync_success.churn.serving import horizon_end_of, supplier_predictor
from wedsync_success.churn.training import (
    feature_importance,
    holdout_mask,
    logistic_baseline,
    train_model,
)
from wedsync_success.churn.windows import ROLES
from wedsync_success.context import AppContext
from wedsync_success.db.locks import lock_prediction_log
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
Progress = Callable[[str, int, int], None]
"""Called as (stage, done, total)."""


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class TrainOptions:
    """How to train; the defaults are documented in docs/churn.md."""

    horizon_days: int = 60
    test_cutoffs: int = 3
    min_history_days: int = 90
    """Days of data a cutoff needs behind it (from the first day with activity)."""
    every_days: int | None = None
    """Days between cutoffs; None: month ends."""
    as_of: date | None = None
    """Last day of observed data to use (default: the last day with activity); churn after
    it is not used either."""
    until: date | None = None
    """Last day churn is known (default: the latest subscription record, see
    ``repository.subscriptions_known_until``); no label horizon goes beyond it."""
    tune: bool = False
    calibration: str = "platt"
    promote: bool | None = None
    """True: make the new model active; None: only when no model is active yet and nothing
    in :func:`promotion.blockers` stands in the way."""
    top_event_types: int = ROLES.generic.top_event_types
    """Generic features for this many of the most frequent event types of the training
    window (``defaults/event_roles.yaml``, ``generic``)."""
    skip_role_types: bool = ROLES.generic.skip_role_types
    """Leave the types a role maps to the domain features (see ``activity.roles``)."""
    event_types: tuple[str, ...] = ROLES.generic.event_types
    """Event types that always get generic features, however rare."""
    ratios: tuple[tuple[str, str], ...] = ROLES.generic.ratios
    """(numerator, denominator) event types whose 28-day ratio is a feature."""
    auto_ratios: int = ROLES.generic.auto_ratios
    """Plus this many ratios found most informative on the training rows."""


@dataclass
class _Rows:
    """The stacked training table: one row per (cutoff, eligible supplier)."""

    matrix: list[FloatArray] = field(default_factory=list)
    labels: list[BoolArray] = field(default_factory=list)
    health: list[FloatArray] = field(default_factory=list)
    cutoff: list[npt.NDArray[np.int64]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def split_cutoffs(
    cutoffs: list[date], *, test_cutoffs: int, horizon_days: int
) -> tuple[list[date], list[date]]:
    """(train, test): test is the latest ``test_cutoffs``; train keeps only cutoffs whose
    label horizon ends by the first test cutoff, so no training label looks into the test
    period (the cutoffs in between are purged)."""
    test = cutoffs[-test_cutoffs:]
    first_test = cutoff_seconds(test[0])
    train = [
        c
        for c in cutoffs[:-test_cutoffs]
        if cutoff_seconds(c) + horizon_days * DAY_SECONDS <= first_test
    ]
    return train, test


def feature_spec(ctx: AppContext, events: EventFeatures | None = None) -> FeatureSpec:
    return FeatureSpec(
        milestone_keys=tuple(m.key for m in ctx.milestones.milestones),
        milestone_names=tuple(m.name for m in ctx.milestones.milestones),
        events=events or EventFeatures(),
    )


def choose_vocabulary(volumes: Sequence[tuple[str, int]], options: TrainOptions) -> EventFeatures:
    """The generic features' event types: the listed ones, the parts of the ratios, then the
    most frequent of ``volumes`` (the training window's counts) up to ``top_event_types``,
    never an excluded type (nor, with ``skip_role_types``, one a role maps) unless listed.
    A listed type absent from the data is kept (its features are zeros); a ratio is kept
    only when both of its types occur."""
    present = {t for t, n in volumes if n > 0}
    pairs = tuple(p for p in dict.fromkeys(options.ratios) if set(p) <= present)
    listed = [*options.event_types, *(t for pair in pairs for t in pair)]
    excluded = set(ROLES.generic.exclude) | (ROLES.mapped if options.skip_role_types else set())
    excluded -= set(listed)
    frequent = [t for t, _ in volumes if t not in excluded][: options.top_event_types]
    types = tuple(dict.fromkeys([*listed, *frequent]))
    return EventFeatures(event_types=types, pairs=pairs)


async def _training_rows(
    session: AsyncSession,
    ctx: AppContext,
    *,
    spec: FeatureSpec,
    cutoffs: list[date],
    horizon_days: int,
    progress: Progress,
) -> _Rows:
    plan_changes = await load_plan_changes(session)
    ends = await repository.subscription_ends(session)
    history = await repository.subscription_history(session)
    rows = _Rows()
    for i, cutoff in enumerate(cutoffs):
        frame = await compute_features(session, spec=spec, as_of=cutoff, plan_changes=plan_changes)
        ended = align(ends.keys, ends.ended_seconds, frame.supplier_ids)
        labels = churn_labels(ended, cutoff, horizon_days)
        # Subscription history, where a supplier has it, decides who churned (labels.py).
        has, active, later = period_labels(
            history.supplier_keys,
            history.starts,
            history.ends,
            frame.supplier_ids,
            cutoff,
            horizon_days,
        )
        labels = np.where(has, active & ~later, labels)
        keep = ~has | active
        keys, scores = await repository.health_scores(
            session, ctx.health, milestones_defined=len(ctx.milestones.milestones), as_of=cutoff
        )
        rows.matrix.append(frame.matrix[keep])
        rows.labels.append(labels[keep])
        rows.health.append(align(keys, scores, frame.supplier_ids)[keep])
        rows.cutoff.append(np.full(int(keep.sum()), i, dtype=np.int64))
        rows.ids.extend(str(s) for s, k in zip(frame.supplier_ids, keep.tolist(), strict=True) if k)
        progress("features", i + 1, len(cutoffs))
    return rows


def _with_found_ratios(
    spec: FeatureSpec, x: FloatArray, y: BoolArray, in_train: BoolArray, limit: int
) -> tuple[FeatureSpec, FloatArray]:
    """Add the ``limit`` most informative ratios of the training rows (never the test rows)
    to the spec, and their columns to ``x`` (the generic columns come last, ratios last of
    all, so appending keeps the spec's column order)."""
    events = spec.events
    if limit <= 0 or len(events.event_types) < 2:
        return spec, x
    names = spec.names
    counts = {
        t: x[:, names.index(name)]
        for name, f in events.features.items()
        if f.kind == "28d"
        for t in (f.event_type,)
    }
    found = informative_pairs(
        {t: c[in_train] for t, c in counts.items()}, y[in_train], limit=limit, exclude=events.pairs
    )
    if not found:
        return spec, x
    wider = EventFeatures(event_types=events.event_types, pairs=(*events.pairs, *found))
    new_spec = FeatureSpec(spec.milestone_keys, spec.milestone_names, wider)
    return new_spec, np.column_stack([x, pair_values(counts, found)])


def _health_baseline(
    health: FloatArray, y: BoolArray, *, calibration: BoolArray, test: BoolArray
) -> tuple[dict[str, float | None], dict[str, Any]]:
    """The health score as a churn predictor: lower score = higher risk, Platt-calibrated on
    the same calibration slice, so every metric is comparable with the model's."""
    risk = (100.0 - np.where(np.isnan(health), 50.0, health)) / 10.0
    calibrator = fit_calibrator(risk[calibration], y[calibration], "platt")
    threshold = choose_threshold(y[calibration], calibrator.apply(risk[calibration]))
    p = calibrator.apply(risk[test])
    return metrics(y[test], p, threshold=threshold), curves(y[test], p)


async def train_suppliers(
    *,
    ctx: AppContext,
    registry: Registry,
    options: TrainOptions,
    now: datetime,
    progress: Progress = _quiet,
) -> ModelVersion:
    """Build point-in-time features at cutoffs (month ends, or every ``every_days``), train
    on the earlier ones, test on the latest ones, compare with the baselines, register the
    model and promote it if asked, or automatically when none is active and it passed the
    gate (:mod:`promotion`)."""
    started = time.perf_counter()
    async with ctx.db.sessions() as session:
        first, last = await repository.data_span(session)
        if first is None or last is None:
            raise ValidationFailed(
                "No activity in the database to learn from; seed or import events first.",
                details=[{"field": "daily_rollups", "reason": "empty"}],
            )
        data_end = min(options.as_of or last, last)
        until, until_source = await _churn_known_until(session, options, today=now.date())
        cutoffs = training_cutoffs(
            first,
            last_day=data_end,
            until=until,
            horizon_days=options.horizon_days,
            min_history_days=options.min_history_days,
            every_days=options.every_days,
        )
        if len(cutoffs) < options.test_cutoffs + 1:
            raise ValidationFailed(
                f"Only {len(cutoffs)} usable cutoffs: each needs {options.min_history_days} "
                f"days of history after {first} and must be on or before {data_end}, the "
                f"last day of activity, with its {options.horizon_days} days of churn observed "
                f"by {until} ({until_source}); need at least {options.test_cutoffs + 1}.",
                details=[{"field": "history", "reason": "too short for a time split"}],
            )
        train_cuts, test_cuts = split_cutoffs(
            cutoffs, test_cutoffs=options.test_cutoffs, horizon_days=options.horizon_days
        )
        if not train_cuts:
            raise ValidationFailed(
                "No training cutoff ends its horizon before the test window starts; "
                "use fewer --test-cutoffs or a shorter --horizon.",
                details=[{"field": "test_cutoffs", "reason": "leaves no training window"}],
            )
        used = train_cuts + test_cuts
        # The vocabulary is chosen on the training window only.
        volumes = await repository.event_type_volumes(session, until=train_cuts[-1])
        spec = feature_spec(ctx, choose_vocabulary(volumes, options))
        rows = await _training_rows(
            session,
            ctx,
            spec=spec,
            cutoffs=used,
            horizon_days=options.horizon_days,
            progress=progress,
        )
    x = np.vstack(rows.matrix)
    y = np.concatenate(rows.labels)
    health = np.concatenate(rows.health)
    cut = np.concatenate(rows.cutoff)
    in_train = cut < len(train_cuts)
    test = ~in_train
    held_out = holdout_mask(rows.ids)
    fit, calibration = in_train & ~held_out, in_train & held_out
    spec, x = _with_found_ratios(spec, x, y, in_train, options.auto_ratios)
    names = list(spec.names)
    categorical = [names.index(n) for n in CATEGORICAL]

    progress("training", 0, 3)
    model = train_model(
        x,
        y,
        fit=fit,
        calibration=calibration,
        names=names,
        categorical=categorical,
        tune=options.tune,
        calibration_method=options.calibration,
    )
    progress("training", 1, 3)
    p_test = model.probabilities(x[test])
    logistic = logistic_baseline(x, y, fit=fit | calibration, categorical=categorical)
    lr_threshold = choose_threshold(y[calibration], logistic(x[calibration]))
    p_lr = logistic(x[test])
    health_metrics, health_curves = _health_baseline(health, y, calibration=calibration, test=test)
    # Tenure alone: what a model learns from how long a customer has been one.
    tenure = x[:, [names.index("tenure_days")]]
    tenure_model = logistic_baseline(tenure, y, fit=fit | calibration, categorical=[])
    tenure_metrics = metrics(
        y[test],
        tenure_model(tenure[test]),
        threshold=choose_threshold(y[calibration], tenure_model(tenure[calibration])),
    )
    progress("training", 2, 3)
    lr_curves = curves(y[test], p_lr)
    metadata: dict[str, Any] = {
        "kind": "suppliers",
        "created_at": now.isoformat(),
        "horizon_days": options.horizon_days,
        "data": {
            "first_day": first.isoformat(),
            "data_end": data_end.isoformat(),
            "churn_known_until": until.isoformat(),
            "churn_known_until_from": until_source,
            "min_history_days": options.min_history_days,
            "cutoff_spacing": (
                f"every {options.every_days} days" if options.every_days else "month ends"
            ),
            "train_cutoffs": [c.isoformat() for c in train_cuts],
            "purged_cutoffs": [c.isoformat() for c in cutoffs if c not in used],
            "test_cutoffs": [c.isoformat() for c in test_cuts],
            "suppliers": len(set(rows.ids)),
            "split": "time: train on earlier cutoffs, test on the latest; rounds, calibration "
            "and threshold from a held-out 25% of suppliers (all their rows) of the training "
            "window; model and logistic baseline then fitted on every training row",
            **_balance(y, fit=fit, calibration=calibration, test=test),
        },
        "features": {
            "names": names,
            "categorical": {k: list(v) for k, v in CATEGORICAL.items()},
            "spec": spec.to_json(),
        },
        "params": model.params,
        "best_iteration": model.best_iteration,
        "calibration": model.calibrator.to_json(),
        "threshold": round(model.threshold, 6),
        "risk_bands": model.bands,
        "metrics": {
            "model": metrics(y[test], p_test, threshold=model.threshold),
            "logistic": metrics(y[test], p_lr, threshold=lr_threshold),
            "health_score": health_metrics,
            "tenure": tenure_metrics,
        },
        "curves": {
            "model": curves(y[test], p_test),
            "logistic": {k: lr_curves[k] for k in ("roc", "pr") if k in lr_curves},
            "health_score": {k: health_curves[k] for k in ("roc", "pr") if k in health_curves},
        },
        "importance": feature_importance(model.booster),
        "drift_reference": reference(x[in_train], names, CATEGORICAL),
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    metadata["promotion"] = {"blocked_by": promotion.blockers(metadata)}
    version = registry.register(model.booster, metadata)
    registry.write_report(version.version, render_report(version.metadata))
    automatic = options.promote is None and not metadata["promotion"]["blocked_by"]
    if options.promote or (automatic and registry.active() is None):
        registry.promote(version.version)
    progress("training", 3, 3)
    return version


async def _churn_known_until(
    session: AsyncSession, options: TrainOptions, *, today: date
) -> tuple[date, str]:
    """The last day churn is observed, and where that day comes from (for the card)."""
    if options.until is not None:
        until, source = options.until, "given"
        if until > today:
            raise ValidationFailed(
                f"--until {until} is in the future: churn is known at most up to today.",
                details=[{"field": "until", "reason": "after today"}],
            )
        if options.as_of is not None and until > options.as_of:
            raise ValidationFailed(
                f"--until {until} is after --as-of {options.as_of}: a training run as of a "
                "day cannot know later churn.",
                details=[{"field": "until", "reason": "after as_of"}],
            )
        return until, source
    known = await repository.subscriptions_known_until(session)
    if known is None:
        raise ValidationFailed(
            "No subscription records: churn cannot be observed; import suppliers first.",
            details=[{"field": "suppliers", "reason": "empty"}],
        )
    until, source = min(known, today), "the latest subscription record"
    if options.as_of is not None and options.as_of < until:
        until, source = options.as_of, "--as-of"
    return until, source


def _balance(
    y: BoolArray, *, fit: BoolArray, calibration: BoolArray, test: BoolArray
) -> dict[str, Any]:
    def part(mask: BoolArray) -> dict[str, Any]:
        n, pos = int(mask.sum()), int(y[mask].sum())
        return {"rows": n, "churned": pos, "rate": round(pos / n, 4) if n else None}

    return {
        "rows": {
            "fit": part(fit),
            "calibration": part(calibration),
            "test": part(test),
        }
    }


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreSummary:
    model_version: str
    as_of: date
    scored: int
    bands: dict[str, int]
    explained: int
    source: Source
    """Where the activity features came from: the feature store, or the rollups."""
    seconds: dict[str, float]
    """Time of each phase, in order; "explain + write" computes the drivers while writing
    every prediction."""


EXPLAIN_CHUNK = 4000
"""Rows explained at a time in batch scoring: one chunk is written while the next is explained."""


async def roll_feature_store(
    *, session: AsyncSession, as_of: date, now: datetime
) -> feature_store.RollForward:
    """Bring the feature store to ``as_of`` (built the first time; then a day's move reads
    only the rollups of the days that cross a window bound). Once a day, before
    :func:`score_all`, in its own transaction: it locks the store, and ingest waits."""
    return await feature_store.roll_forward(session, to=as_of, now=now)


async def score_all(
    *,
    session: AsyncSession,
    registry: Registry,
    as_of: date,
    now: datetime,
    rates: Rates,
    explain_bands: tuple[str, ...] = ("high",),
) -> ScoreSummary:
    """Score every eligible supplier in one vectorised pass and log the predictions (each
    also becomes the supplier's current one, its expected MRR lost priced at ``rates``).

    SHAP drivers are computed (one batched ``pred_contrib`` call) only for the rows in
    ``explain_bands``; the others are logged without drivers.

    Activity comes from the feature store when it is at ``as_of`` (see
    :func:`roll_feature_store`), else from the rollups. Filling in the outcomes of earlier
    predictions is a separate step (:func:`fill_outcomes`).
    """
    seconds: dict[str, float] = {}
    predictor = supplier_predictor(registry)
    assert predictor.spec is not None
    t = time.perf_counter()
    await lock_prediction_log(session)
    # A shared lock: ingest batches may still land (the read below is one statement), but
    # the store cannot move to another day until this transaction ends.
    at_day = await feature_store.store_day(session, lock="share") == as_of
    source: Source = "store" if at_day else "rollups"
    frame = await compute_features(session, spec=predictor.spec, as_of=as_of, source=source)
    if source == "store" and not len(frame):
        # Only if the store moved on in between: SQLite runs each read in its own snapshot
        # (no lock to share), and the read checks the store's day in its own statement.
        source = "rollups"
        frame = await compute_features(session, spec=predictor.spec, as_of=as_of)
    seconds["features"] = time.perf_counter() - t
    t = time.perf_counter()
    probability = predictor.probabilities(frame.matrix, threads=0)
    bands = predictor.risk_bands(probability)
    seconds["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    explained = np.isin(bands, explain_bands)

    def rows(
        picked: IntArray, drivers: Sequence[Sequence[Mapping[str, Any]] | None]
    ) -> repository.PredictionBatch:
        return repository.PredictionBatch(
            model_version=predictor.version,
            as_of=as_of,
            horizon_days=predictor.horizon_days or 0,
            horizon_end=horizon_end_of(predictor, as_of),
            predicted_at=now,
            supplier_ids=[frame.supplier_ids[i] for i in picked.tolist()],
            probabilities=probability[picked].tolist(),
            risk_bands=bands[picked].tolist(),
            drivers=drivers,
        )

    def explain(chunk: IntArray) -> list[Sequence[Mapping[str, Any]]]:
        x = frame.matrix[chunk]
        found = drivers_of_rows(
            predictor.contributions(x, threads=0),
            x,
            predictor.names,
            spec=predictor.spec,
            categorical=predictor.categorical,
            sides=False,
        )
        return [as_logged(row) for row in found]

    async def write_after(
        previous: asyncio.Future[None], write: Callable[[], Awaitable[None]]
    ) -> None:
        await previous  # one session: writes go one after another
        await write()

    # A pipeline: the rows without drivers are written to the log while the first drivers
    # are computed; then each chunk of explained rows is logged while the next chunk is
    # explained (the database and LightGBM work outside the GIL, so the two overlap on
    # separate cores); last, every row becomes its supplier's current prediction, one upsert
    # for the whole batch, last because on PostgreSQL it holds the suppliers list's readers
    # until the commit (see repository.write_current).
    plain = np.flatnonzero(~explained)
    everyone = np.arange(len(frame))
    writing = asyncio.ensure_future(repository.write_log(session, rows(plain, [None] * plain.size)))
    try:
        explained_rows = np.flatnonzero(explained)
        for start in range(0, explained_rows.size, EXPLAIN_CHUNK):
            chunk = explained_rows[start : start + EXPLAIN_CHUNK]
            found = await asyncio.to_thread(explain, chunk)
            log = functools.partial(repository.write_log, session, rows(chunk, found))
            writing = asyncio.ensure_future(write_after(writing, log))
    finally:
        await writing
    await repository.write_current(session, rows(everyone, [None] * everyone.size), rates=rates)
    seconds["explain + write"] = time.perf_counter() - t
    band_list = bands.tolist()
    counts = {b: band_list.count(b) for b in ("low", "medium", "high")}
    return ScoreSummary(
        model_version=predictor.version,
        as_of=as_of,
        scored=len(frame),
        bands=counts,
        explained=int(explained.sum()),
        source=source,
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


# --- drift and outcomes ---------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeSummary:
    churned: int
    stayed: int
    seconds: float


async def fill_outcomes(*, session: AsyncSession, now: datetime) -> OutcomeSummary:
    """Record the outcomes of logged predictions whose horizon has ended by ``now``, from
    subscription history: churned when the supplier was a customer at the cutoff and is not
    one at the horizon's end, stayed when it is (``repository.fill_outcomes``)."""
    started = time.perf_counter()
    churned, stayed = await repository.fill_outcomes(session, now=now)
    return OutcomeSummary(churned, stayed, round(time.perf_counter() - started, 3))


async def drift(
    *, session: AsyncSession, registry: Registry, as_of: date, version: str | None = None
) -> tuple[str, int, list[FeatureDrift]]:
    """PSI of every feature, live (eligible suppliers as of ``as_of``) against training."""
    predictor = PREDICTORS.get(registry, version) if version else supplier_predictor(registry)
    if predictor.spec is None:
        raise ValidationFailed(
            f"{predictor.version} was trained on a CSV file; drift needs a supplier model.",
            details=[{"field": "version", "reason": "not a supplier model"}],
        )
    frame = await compute_features(session, spec=predictor.spec, as_of=as_of)
    ref = predictor.metadata["drift_reference"]
    return (
        predictor.version,
        len(frame),
        compare(ref, frame.matrix, predictor.names, calendar=CALENDAR_FEATURES),
    )


async def outcome_quality(
    *, session: AsyncSession, now: datetime, registry: Registry | None = None
) -> dict[str, dict[str, float | None]]:
    """Fill in known outcomes, then measure each model version on its real outcomes
    (at the version's own threshold when its metadata is still in the registry)."""
    await fill_outcomes(session=session, now=now)
    logged = await repository.logged_outcomes(session)
    known = set(registry.versions()) if registry is not None else set()
    out: dict[str, dict[str, float | None]] = {}
    for version in sorted(set(logged.model_version.tolist())):
        mask = logged.model_version == version
        threshold = 0.5
        if registry is not None and version in known:
            threshold = float(registry.get(version).metadata["threshold"])
        out[version] = metrics(logged.outcome[mask], logged.probability[mask], threshold=threshold)
    return out
