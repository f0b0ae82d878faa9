"""Bring your own data: train and evaluate on any tabular churn CSV.

Columns are typed by content: a column whose every present value parses as a number is
numeric, anything else is categorical (its 50 most frequent values become the vocabulary;
rarer ones and missing values are unknown). Empty cells and NA/N/A/null/none/nan/? are
missing. The label may be yes/no, true/false, 1/0, y/n, churned/retained... (exactly two
values). ``--id`` keeps one account's rows together in cross-validation; ``--time`` switches
to a time split (train on the earlier 80 %, test on the latest 20 %).

Evaluation is stratified 5-fold cross-validation: in each fold the model is trained
(with its own calibration slice carved out of the training folds) and scores the held-out
fold, so every row gets an out-of-fold probability; the card's metrics are computed on those.
The registered model is then trained on all rows.
"""

from __future__ import annotations

import csv
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold  # type: ignore[import-untyped]

from wedsync_success.churn import promotion
from wedsync_success.churn.drift import reference
from wedsync_success.churn.evaluation import choose_threshold, curves, metrics
from wedsync_success.churn.registry import ModelVersion, Registry
from wedsync_success.churn.report import render_report
from wedsync_success.churn.training import (
    feature_importance,
    holdout_mask,
    logistic_baseline,
    train_model,
)
from wedsync_success.kit.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MISSING = frozenset({"", "na", "n/a", "null", "none", "nan", "?", "-"})
POSITIVE = frozenset({"1", "yes", "y", "true", "t", "churned", "churn", "cancelled", "left"})
NEGATIVE = frozenset({"0", "no", "n", "false", "f", "retained", "active", "stayed", "kept"})
MAX_CATEGORIES = 50
FOLDS = 5
TIME_TEST_SHARE = 0.2


@dataclass(frozen=True)
class Table:
    """A CSV turned into a model matrix."""

    matrix: FloatArray
    labels: BoolArray
    names: list[str]
    categorical: dict[str, tuple[str, ...]]
    groups: list[str]
    times: FloatArray | None
    positive: str
    skipped_rows: int
    dropped_columns: dict[str, str]
    """Columns not used as features, with the reason."""


def _bad(field: str, message: str, reason: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "reason": reason or message}])


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            if not sample.strip():
                raise _bad("csv", f"{path.name} is empty", "the file is empty")
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.reader(fh, dialect))
    except UnicodeDecodeError:
        raise _bad("csv", f"{path.name} is not UTF-8 text", "not a text CSV file") from None
    except OSError as exc:
        raise _bad("csv", f"Cannot read {path}: {exc.strerror}", "cannot be read") from None
    header = [h.strip() for h in rows[0]] if rows else []
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    if not header or not body:
        raise _bad("csv", f"{path.name} has a header but no data rows", "no data rows")
    width = len(header)
    ragged = [i + 2 for i, r in enumerate(body) if len(r) != width][:5]
    if ragged:
        raise _bad(
            "csv",
            f"{path.name}: lines {', '.join(map(str, ragged))} do not have {width} columns",
            "rows with the wrong number of columns",
        )
    return header, body


def _column(header: list[str], name: str | None, option: str) -> int | None:
    if name is None:
        return None
    if name not in header:
        raise _bad(
            option,
            f"No column {name!r} in the file; columns are: {', '.join(header)}",
            f"no column {name!r}",
        )
    return header.index(name)


def _labels(values: list[str], label: str) -> tuple[BoolArray, BoolArray, str]:
    cleaned = [v.strip().lower() for v in values]
    present = np.asarray([v not in MISSING for v in cleaned], dtype=np.bool_)
    distinct = sorted({v for v in cleaned if v not in MISSING})
    if len(distinct) != 2:
        shown = ", ".join(distinct[:6]) + ("…" if len(distinct) > 6 else "")
        raise _bad(
            "--label",
            f"Label column {label!r} has {len(distinct)} distinct values ({shown}); "
            "a churn label needs exactly two (e.g. yes/no or 1/0).",
            f"{len(distinct)} distinct values",
        )
    positive = [v for v in distinct if v in POSITIVE]
    negative = [v for v in distinct if v in NEGATIVE]
    if len(positive) == 1 and len(negative) <= 1:
        token = positive[0]
    elif len(negative) == 1:
        token = next(v for v in distinct if v != negative[0])
    else:
        raise _bad(
            "--label",
            f"Cannot tell which of {distinct[0]!r} and {distinct[1]!r} means churned; "
            "use yes/no, true/false or 1/0.",
            "unrecognised label values",
        )
    y = np.asarray([v == token for v in cleaned], dtype=np.bool_)
    return y, present, token


def _numeric(values: list[str]) -> FloatArray | None:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        text = v.strip()
        if text.lower() in MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = (
                float(text.replace(",", "")) if text.count(",") and "." in text else float(text)
            )
        except ValueError:
            return None
        if not math.isfinite(out[i]):
            out[i] = np.nan
    return out


def _is_row_id(values: FloatArray) -> bool:
    """Whole numbers rising (or falling) strictly down the file: a row number or a
    sequential id, which would let a model learn the file's order instead of churn."""
    if values.size < 3 or np.isnan(values).any() or not np.array_equal(values, np.round(values)):
        return False
    steps = np.diff(values)
    return bool(np.all(steps > 0) or np.all(steps < 0))


def _times(values: list[str], option: str) -> FloatArray:
    numbers = _numeric(values)
    if numbers is not None:
        return numbers
    out = np.empty(len(values))
    for i, v in enumerate(values):
        text = v.strip()
        try:
            out[i] = datetime.fromisoformat(text).timestamp() if text else np.nan
        except ValueError:
            raise _bad(
                option, f"Time value {text!r} is neither a number nor an ISO date", "bad time"
            ) from None
    return out


def load_table(
    path: Path, *, label: str, id_column: str | None = None, time_column: str | None = None
) -> Table:
    """Read and type a CSV; every problem is a ValidationFailed naming the option or file."""
    header, body = _read(path)
    label_at = _column(header, label, "--label")
    id_at = _column(header, id_column, "--id")
    time_at = _column(header, time_column, "--time")
    assert label_at is not None
    columns = list(zip(*body, strict=True))
    y, present, token = _labels(list(columns[label_at]), label)
    keep_rows = np.flatnonzero(present)
    used = {label_at, id_at, time_at}
    names: list[str] = []
    cols: list[FloatArray] = []
    categorical: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, str] = {}
    for j, name in enumerate(header):
        if j in used:
            continue
        values = [columns[j][i] for i in keep_rows]
        numeric = _numeric(values)
        if numeric is not None:
            if np.all(np.isnan(numeric)):
                dropped[name] = "no values"
            elif _is_row_id(numeric):
                dropped[name] = "a row id: unique whole numbers in file order"
            else:
                names.append(name)
                cols.append(numeric)
            continue
        counts = Counter(v.strip() for v in values if v.strip().lower() not in MISSING)
        if len(counts) > MAX_CATEGORIES and len(counts) > 0.5 * len(values):
            # No signal a tree can use.
            dropped[name] = "free text or an identifier: a different value on most rows"
            continue
        vocab = tuple(v for v, _ in counts.most_common(MAX_CATEGORIES))
        lookup = {v: float(i) for i, v in enumerate(vocab)}
        names.append(name)
        categorical[name] = vocab
        cols.append(np.asarray([lookup.get(v.strip(), np.nan) for v in values], dtype=float))
    if not names:
        raise _bad("csv", "No usable feature columns besides the label, id and time", "no features")
    groups = (
        [columns[id_at][i] for i in keep_rows] if id_at is not None else [str(i) for i in keep_rows]
    )
    times = (
        _times([columns[time_at][i] for i in keep_rows], "--time") if time_at is not None else None
    )
    return Table(
        matrix=np.column_stack(cols),
        labels=y[keep_rows],
        names=names,
        categorical=categorical,
        groups=groups,
        times=times,
        positive=token,
        skipped_rows=int(len(body) - keep_rows.size),
        dropped_columns=dropped,
    )


def _folds(table: Table) -> list[tuple[BoolArray, BoolArray]]:
    """(train, test) masks: a time split with ``--time``, else stratified (grouped) K-fold."""
    n = table.labels.size
    if table.times is not None:
        cut = np.nanquantile(table.times, 1.0 - TIME_TEST_SHARE)
        test = table.times >= cut
        return [(~test, test)]
    positives = int(table.labels.sum())
    k = min(FOLDS, positives, n - positives)
    if k < 2:
        raise _bad(
            "--label",
            f"Only {min(positives, n - positives)} rows of the rarer class; cross-validation "
            "needs at least 2 of each.",
            "too few rows of one class",
        )
    splitter: StratifiedGroupKFold | StratifiedKFold
    if len(set(table.groups)) < n:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=7)
        splits = splitter.split(table.matrix, table.labels, groups=table.groups)
    else:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=7)
        splits = splitter.split(table.matrix, table.labels)
    out = []
    for train_idx, test_idx in splits:
        train = np.zeros(n, dtype=np.bool_)
        train[train_idx] = True
        test = np.zeros(n, dtype=np.bool_)
        test[test_idx] = True
        out.append((train, test))
    return out


def train_csv(
    path: Path,
    *,
    label: str,
    registry: Registry,
    now: datetime,
    id_column: str | None = None,
    time_column: str | None = None,
    tune: bool = False,
    calibration: str = "platt",
) -> ModelVersion:
    """Evaluate out of fold (or on the time split), then register a model fitted on all rows."""
    started = time.perf_counter()
    table = load_table(path, label=label, id_column=id_column, time_column=time_column)
    x, y = table.matrix, table.labels
    categorical = [table.names.index(n) for n in table.categorical]
    held_out = holdout_mask(table.groups)
    p_model = np.full(y.size, np.nan)
    p_lr = np.full(y.size, np.nan)
    thresholds, lr_thresholds = [], []
    evaluated = np.zeros(y.size, dtype=np.bool_)
    for train, test in _folds(table):
        model = train_model(
            x,
            y,
            fit=train & ~held_out,
            calibration=train & held_out,
            names=table.names,
            categorical=categorical,
            tune=tune,
            calibration_method=calibration,
        )
        p_model[test] = model.probabilities(x[test])
        thresholds.append(model.threshold)
        logistic = logistic_baseline(x, y, fit=train & ~held_out, categorical=categorical)
        p_lr[test] = logistic(x[test])
        lr_thresholds.append(choose_threshold(y[train & held_out], logistic(x[train & held_out])))
        evaluated |= test
    final = train_model(
        x,
        y,
        fit=~held_out,
        calibration=held_out,
        names=table.names,
        categorical=categorical,
        tune=tune,
        calibration_method=calibration,
    )
    ye = y[evaluated]
    n, pos = int(y.size), int(y.sum())
    lr_curves = curves(ye, p_lr[evaluated])
    metadata: dict[str, Any] = {
        "kind": "byo",
        "created_at": now.isoformat(),
        "horizon_days": None,
        "data": {
            "file": path.name,
            "label": label,
            "positive_value": table.positive,
            "id_column": id_column,
            "time_column": time_column,
            "split": "time: latest 20% of rows by time"
            if time_column
            else f"stratified {len(thresholds)}-fold cross-validation"
            + (" grouped by id" if len(set(table.groups)) < n else ""),
            "rows_without_label_skipped": table.skipped_rows,
            "dropped_columns": table.dropped_columns,
            "rows": {
                "all": {"rows": n, "churned": pos, "rate": round(pos / n, 4)},
                "evaluated": {
                    "rows": int(ye.size),
                    "churned": int(ye.sum()),
                    "rate": round(float(ye.mean()), 4),
                },
            },
        },
        "features": {
            "names": table.names,
            "categorical": {k: list(v) for k, v in table.categorical.items()},
        },
        "params": final.params,
        "best_iteration": final.best_iteration,
        "calibration": final.calibrator.to_json(),
        "threshold": round(final.threshold, 6),
        "risk_bands": final.bands,
        "metrics": {
            "model": metrics(ye, p_model[evaluated], threshold=float(np.mean(thresholds))),
            "logistic": metrics(ye, p_lr[evaluated], threshold=float(np.mean(lr_thresholds))),
        },
        "curves": {
            "model": curves(ye, p_model[evaluated]),
            "logistic": {k: lr_curves[k] for k in ("roc", "pr") if k in lr_curves},
        },
        "importance": feature_importance(final.booster),
        "drift_reference": reference(x, table.names, table.categorical),
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    metadata["promotion"] = {"blocked_by": promotion.blockers(metadata)}
    version = registry.register(final.booster, metadata)
    registry.write_report(version.version, render_report(version.metadata))
    return version
