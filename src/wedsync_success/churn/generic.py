"""Churn features for any event type: counts, active days, recency, trend and ratios.

The domain features (``windows``) count event types the product knows by role. A product
with its own vocabulary needs more: for every event type of the model's vocabulary
(:class:`EventFeatures`, chosen on the training rows and saved with the model), as of the
end of ``as_of``:

* ``ev__<type>__7d`` / ``__28d`` / ``__90d``: events in the last 7, 28 and 90 days;
* ``ev__<type>__days_28d``: days with at least one such event in the last 28 days;
* ``ev__<type>__days_since``: days since the last one, **NaN when there was none** in the
  look-back window (never the tenure: "never did it" and "a customer for that long" are
  different facts);
* ``ev__<type>__trend_28d``: the last 28 days against the 28 before, as a relative change
  (-0.4 = down 40 %; NaN when the earlier 28 days had none);
* ``ev__<a>__per__<b>__28d``: events of ``a`` per event of ``b`` in the last 28 days (NaN
  when there was no ``b``), for the pairs of the vocabulary.

One aggregation over ``daily_rollups`` grouped by (supplier, event type) for every supplier
at once, then a NumPy scatter into the matrix: no Python loop per supplier. An event type
of the vocabulary that no longer occurs gives zeros and NaN, never an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Date, Uuid, and_, bindparam, case, func, select

from wedsync_success.activity.models import DailyRollup
from wedsync_success.churn.windows import LOOKBACK_DAYS
from wedsync_success.db.raw import epoch_day, epoch_days, untyped

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PREFIX = "ev__"
COUNT_WINDOWS: tuple[int, ...] = (7, 28, 90)
RECENT, PREVIOUS = 28, 56
"""The trend compares ``(as_of-28, as_of]`` with ``(as_of-56, as_of-28]``."""
PER_TYPE: tuple[str, ...] = (
    *(f"{w}d" for w in COUNT_WINDOWS),
    "days_28d",
    "days_since",
    "trend_28d",
)
"""The suffixes of one event type's features, in column order."""
_SQL_COLUMNS = ("c7", "c28", "c90", "prev28", "days28", "last")


def slug(event_type: str) -> str:
    """An event type as a feature-name part: lower case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", event_type.lower()).strip("_") or "event"


@dataclass(frozen=True)
class GenericFeature:
    """What one generic column is about (for explanations)."""

    kind: str
    """One of :data:`PER_TYPE` or ``per``."""
    event_type: str
    other: str | None = None
    """The denominator's event type of a ``per`` ratio."""


@dataclass(frozen=True)
class EventFeatures:
    """The event vocabulary of a model: which types get features, which pairs get ratios."""

    event_types: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    """(numerator, denominator) event types, both in ``event_types``."""

    def __post_init__(self) -> None:
        if len(set(self.event_types)) != len(self.event_types):
            raise ValueError("event types must be distinct")
        known = set(self.event_types)
        for a, b in self.pairs:
            if a not in known or b not in known or a == b:
                raise ValueError(f"ratio {a}/{b} needs two distinct types of the vocabulary")

    @functools.cached_property
    def _slugs(self) -> tuple[str, ...]:
        """One unique name part per event type (a suffix keeps colliding slugs apart)."""
        seen: dict[str, int] = {}
        out: list[str] = []
        for t in self.event_types:
            base = slug(t)
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.append(base if n == 0 else f"{base}_{n + 1}")
        return tuple(out)

    @functools.cached_property
    def features(self) -> dict[str, GenericFeature]:
        """Every generic column name, in column order, with what it is about."""
        slugs = dict(zip(self.event_types, self._slugs, strict=True))
        out: dict[str, GenericFeature] = {}
        for t in self.event_types:
            for kind in PER_TYPE:
                out[f"{PREFIX}{slugs[t]}__{kind}"] = GenericFeature(kind, t)
        for a, b in self.pairs:
            out[f"{PREFIX}{slugs[a]}__per__{slugs[b]}__28d"] = GenericFeature("per", a, b)
        return out

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.features)

    def to_json(self) -> dict[str, Any]:
        return {"event_types": list(self.event_types), "pairs": [list(p) for p in self.pairs]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EventFeatures:
        if not data:
            return cls()
        return cls(
            event_types=tuple(data.get("event_types", ())),
            pairs=tuple((str(a), str(b)) for a, b in data.get("pairs", ())),
        )


def _back(n: int) -> Any:
    return bindparam(f"ev_back_{n}", type_=Date)


def parameters(as_of: date) -> dict[str, Any]:
    """Values of the generic query's bound parameters for one cutoff."""
    params: dict[str, Any] = {
        f"ev_back_{n}": as_of - timedelta(days=n)
        for n in (*COUNT_WINDOWS, RECENT, PREVIOUS, LOOKBACK_DAYS)
    }
    params["ev_as_of"] = as_of
    return params


@functools.lru_cache(maxsize=32)
def generic_query(event_types: tuple[str, ...], filtered: bool) -> Any:
    """Per (supplier, event type) of the vocabulary: the window sums, active days, last day.

    Unordered: sorting the groups cost SQLite a second temporary B-tree, and the scatter
    looks every row's supplier up anyway.
    """
    r = DailyRollup
    type_index = case({t: i for i, t in enumerate(event_types)}, value=r.event_type)

    def in_window(end: int, start: int | None = None) -> Any:
        upper = [] if start is None else [r.day <= _back(start)]
        return and_(r.day > _back(end), *upper)

    where = [
        r.day > _back(LOOKBACK_DAYS),
        r.day <= bindparam("ev_as_of", type_=Date),
        r.event_type.in_(event_types),
    ]
    if filtered:
        where.append(r.supplier_id.in_(bindparam("ids", expanding=True, type_=Uuid)))
    query = (
        select(
            r.supplier_id,
            type_index.label("type_index"),
            *(
                func.sum(case((in_window(w), r.count), else_=0)).label(f"c{w}")
                for w in COUNT_WINDOWS
            ),
            func.sum(case((in_window(PREVIOUS, RECENT), r.count), else_=0)).label("prev28"),
            # One rollup row per (supplier, day, type): counting rows counts active days.
            func.sum(case((in_window(RECENT), 1), else_=0)).label("days28"),
            func.max(r.day).label("last"),
        )
        .where(*where)
        .group_by(r.supplier_id, r.event_type)
    )
    return untyped(query)


def _row_positions(keys: Sequence[Any], frame_keys: Sequence[Any]) -> npt.NDArray[np.intp]:
    """The frame row of each generic row (-1: a supplier not in the frame), by a dict of the
    frame's raw ids as the driver answered them (text on SQLite, UUID objects on PostgreSQL)."""
    index = {k: i for i, k in enumerate(frame_keys)}
    return np.fromiter((index.get(k, -1) for k in keys), dtype=np.intp, count=len(keys))


def _relative_change(recent: FloatArray, previous: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(previous > 0, recent / previous - 1.0, np.nan)
    return np.round(result, 4)


def _per(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(b > 0, a / b, np.nan)
    return np.round(result, 4)


def frame_values(
    rows: Sequence[Any], frame_keys: Sequence[Any], spec: EventFeatures, as_of: date
) -> FloatArray:
    """The generic columns (``spec.names`` order) for the frame's suppliers, from the rows of
    :func:`generic_query`; a supplier without a row of a type gets zeros, and NaN recency."""
    n, k = len(frame_keys), len(spec.event_types)
    sums = np.zeros((len(_SQL_COLUMNS) - 1, n, k))
    last = np.full((n, k), np.nan)
    if rows:
        cols = list(zip(*rows, strict=True))
        at = _row_positions(cols[0], frame_keys)
        types = np.asarray(cols[1], dtype=np.intp)
        keep = at >= 0
        at, types = at[keep], types[keep]
        for j in range(len(_SQL_COLUMNS) - 1):
            sums[j, at, types] = np.asarray(cols[2 + j], dtype=np.float64)[keep]
        last[at, types] = epoch_day(as_of) - epoch_days(cols[-1])[keep]
    c7, c28, c90, prev28, days28 = sums
    per_type = [c7, c28, c90, days28, last, _relative_change(c28, prev28)]
    blocks = np.stack(per_type, axis=2).reshape(n, k * len(PER_TYPE))
    position = {t: i for i, t in enumerate(spec.event_types)}
    ratios = [_per(c28[:, position[a]], c28[:, position[b]]) for a, b in spec.pairs]
    if ratios:
        blocks = np.column_stack([blocks, *ratios])
    return blocks.astype(np.float64)


def pair_values(counts_28d: dict[str, FloatArray], pairs: Sequence[tuple[str, str]]) -> FloatArray:
    """The ratio columns of ``pairs`` from 28-day counts by type (for choosing pairs)."""
    n = len(next(iter(counts_28d.values()))) if counts_28d else 0
    if not pairs:
        return np.zeros((n, 0))
    return np.column_stack([_per(counts_28d[a], counts_28d[b]) for a, b in pairs])


def _rank_auc(score: FloatArray, y: BoolArray) -> float:
    """ROC-AUC of a score (ties averaged), 0.5 when one class is missing."""
    pos = int(y.sum())
    neg = y.size - pos
    if pos == 0 or neg == 0:
        return 0.5
    order = np.argsort(score, kind="stable")
    ranks = np.empty(score.size)
    sorted_scores = score[order]
    # Average ranks of ties: the mean position of each run of equal scores.
    change = np.ones(score.size, dtype=np.bool_)
    change[1:] = sorted_scores[1:] != sorted_scores[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], score.size)
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


MIN_PAIR_COVERAGE = 0.05
"""A ratio defined (denominator non-zero) on fewer of the training rows says little."""


def informative_pairs(
    counts_28d: dict[str, FloatArray],
    y: BoolArray,
    *,
    limit: int,
    exclude: Sequence[tuple[str, str]] = (),
) -> tuple[tuple[str, str], ...]:
    """The ``limit`` ratios a/b that separate churners best on these (training) rows.

    Each candidate's ROC-AUC (as a churn score, either direction: ``|AUC - 0.5|``) is
    measured where it is defined; a ratio counts only if its denominator occurs on at least
    :data:`MIN_PAIR_COVERAGE` of the rows, and it must beat both of its parts' own 28-day
    counts, so that a ratio is chosen for what the division adds.
    """
    if limit <= 0 or y.size == 0:
        return ()
    types = list(counts_28d)
    own = {t: abs(_rank_auc(counts_28d[t], y) - 0.5) for t in types}
    scored: list[tuple[float, tuple[str, str]]] = []
    skip = set(exclude)
    for a in types:
        for b in types:
            if a == b or (a, b) in skip:
                continue
            defined = counts_28d[b] > 0
            if defined.mean() < MIN_PAIR_COVERAGE:
                continue
            ratio = counts_28d[a][defined] / counts_28d[b][defined]
            gain = abs(_rank_auc(ratio, y[defined]) - 0.5)
            if gain > max(own[a], own[b]):
                scored.append((gain, (a, b)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    chosen: list[tuple[str, str]] = []
    for _, (a, b) in scored:
        if (b, a) in chosen:  # a/b and b/a rank rows the same way (where both are defined)
            continue
        chosen.append((a, b))
        if len(chosen) == limit:
            break
    return tuple(chosen)
