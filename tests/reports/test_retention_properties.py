"""The retention arithmetic over random histories (hypothesis): the MRR identity holds per
currency and every figure equals a per-supplier oracle written with the period rule of
``suppliers.periods`` (``Period.covers``), one supplier at a time in plain Python."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wedsync_success.reports.retention import MOVEMENTS, movements
from wedsync_success.reports.retention_repository import PeriodColumns
from wedsync_success.suppliers.periods import Period

ORIGIN = date(2026, 1, 1)
CURRENCIES = ("EUR", "GBP")

period_strategy = st.tuples(
    st.integers(min_value=-60, max_value=120),  # start, days from ORIGIN
    st.one_of(st.none(), st.integers(min_value=1, max_value=90)),  # length; None: open
    st.integers(min_value=0, max_value=20_000),  # net MRR
    st.sampled_from(CURRENCIES),
)
histories = st.lists(st.lists(period_strategy, min_size=1, max_size=4), max_size=12)
edges_strategy = st.lists(
    st.integers(min_value=-30, max_value=130), min_size=2, max_size=6, unique=True
).map(sorted)


def _instant(days: int) -> datetime:
    return datetime(ORIGIN.year, ORIGIN.month, ORIGIN.day, tzinfo=UTC) + timedelta(days=days)


def _periods(history: list[tuple[int, int | None, int, str]]) -> list[Period]:
    return [
        Period(
            plan="p",
            starts_at=_instant(start),
            ends_at=None if length is None else _instant(start + length),
            mrr_minor=net,
            discount_minor=0,
            currency=currency,
        )
        for start, length, net, currency in history
    ]


def _columns(suppliers: list[list[Period]], since: datetime, until: datetime) -> PeriodColumns:
    """What the repository reads: the periods covering some instant of [since, until], each
    with whether its supplier has a period over by ``since`` (one not read)."""
    rows = [
        (i, p)
        for i, periods in enumerate(suppliers)
        for p in periods
        if p.starts_at <= until and (p.ends_at is None or p.ends_at > since)
    ]
    earlier = [
        any(q.ends_at is not None and q.ends_at <= since for q in suppliers[i]) for i, _ in rows
    ]
    present = sorted({p.currency for _, p in rows})
    return PeriodColumns(
        supplier=np.array([i for i, _ in rows], dtype=np.int64),
        suppliers=len(suppliers),
        starts=np.array([p.starts_at.timestamp() for _, p in rows], dtype=np.float64),
        ends=np.array(
            [np.inf if p.ends_at is None else p.ends_at.timestamp() for _, p in rows],
            dtype=np.float64,
        ),
        net_minor=np.array([p.mrr_minor for _, p in rows], dtype=np.int64),
        currency=np.array([present.index(p.currency) for _, p in rows], dtype=np.int64),
        currencies=tuple(present),
        implicit=0,
        earlier=np.array(earlier, dtype=np.bool_),
    )


def _net(periods: list[Period], at: datetime, currency: str) -> int:
    return sum(p.mrr_minor for p in periods if p.currency == currency and p.covers(at))


def _oracle(suppliers: list[list[Period]], a: datetime, b: datetime) -> dict[str, object]:
    counts = dict.fromkeys(("start", "churned", "new", "reactivated", "end"), 0)
    money = {c: dict.fromkeys(MOVEMENTS, 0) for c in CURRENCIES}
    for periods in suppliers:
        at_a = any(p.covers(a) for p in periods)
        at_b = any(p.covers(b) for p in periods)
        before = any(p.starts_at < a for p in periods)
        kind = (
            "retained"
            if at_a and at_b
            else "churned"
            if at_a
            else ("reactivated" if before else "new")
            if at_b
            else None
        )
        counts["start"] += at_a
        counts["end"] += at_b
        if kind in ("churned", "new", "reactivated"):
            counts[kind] += 1
        for c in CURRENCIES:
            s, e = _net(periods, a, c), _net(periods, b, c)
            money[c]["start"] += s
            money[c]["end"] += e
            if kind == "retained":
                money[c]["expansion"] += max(e - s, 0)
                money[c]["contraction"] += max(s - e, 0)
            elif kind == "churned":
                money[c]["churned"] += s
            elif kind == "new":
                money[c]["new"] += e
            elif kind == "reactivated":
                money[c]["reactivation"] += e
    return {"counts": counts, "money": money}


@settings(max_examples=300, deadline=None)
@given(histories, edges_strategy)
def test_movements_equal_the_per_supplier_oracle(
    raw: list[list[tuple[int, int | None, int, str]]], edge_days: list[int]
) -> None:
    suppliers = [_periods(h) for h in raw]
    edges = [ORIGIN + timedelta(days=d) for d in edge_days]
    instants = [_instant(d) for d in edge_days]
    moved = movements(_columns(suppliers, instants[0], instants[-1]), edges)
    for i, (a, b) in enumerate(pairwise(instants)):
        expected = _oracle(suppliers, a, b)
        counts = expected["counts"]
        assert isinstance(counts, dict)
        assert (
            moved.active_at_start[i],
            moved.churned[i],
            moved.new[i],
            moved.reactivated[i],
            moved.active_at_end[i],
        ) == (
            counts["start"],
            counts["churned"],
            counts["new"],
            counts["reactivated"],
            counts["end"],
        )
        assert (
            counts["start"] - counts["churned"] + counts["new"] + counts["reactivated"]
            == (counts["end"])
        )
        money = expected["money"]
        assert isinstance(money, dict)
        for code, figures in moved.mrr.items():
            got = {name: int(figures[name][i]) for name in MOVEMENTS}
            assert got == money[code]
            assert (
                got["start"]
                + got["new"]
                + got["expansion"]
                - got["contraction"]
                - got["churned"]
                + got["reactivation"]
                == got["end"]
            )
        for code in set(CURRENCIES) - set(moved.mrr):
            assert all(v == 0 for v in money[code].values())
