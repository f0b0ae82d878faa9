"""Hypothesis strategies for hostile JSON, written as raw JSON text.

Raw text because what breaks servers is what a polite encoder never writes: ``NaN`` and
``Infinity`` literals, ``\\ud800`` escapes (lone surrogates), ``\\u0000``, integers of many
digits, nesting a thousand levels deep. Every strategy here yields a ``str`` of JSON.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from hypothesis import strategies as st

from wedsync_success.kit.limits import BIGINT_MAX, BIGINT_MIN, MAX_AMOUNT_MINOR

NASTY_CHARS = ["\x00", "\ud800", "\udfff", "\ud83d", "\x1f", "\u2028", "é", "😀", '"', "\\", " "]

hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY_CHARS), st.characters(exclude_categories=())),
    max_size=12,
)
"""Short text with NUL, lone surrogates and other troublemakers (as Python strings)."""

long_text = st.sampled_from([63, 64, 65, 127, 128, 129, 200, 201, 2000, 2001, 5000]).map(
    lambda n: "x" * n
)

edge_ints = st.sampled_from(
    [
        0,
        -1,
        BIGINT_MAX,
        BIGINT_MAX + 1,
        BIGINT_MIN,
        BIGINT_MIN - 1,
        2**70,
        -(2**70),
        MAX_AMOUNT_MINOR,
        MAX_AMOUNT_MINOR + 1,
        -MAX_AMOUNT_MINOR - 1,
    ]
)

RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "-0.0", "1" * 5000, "1e-999"]


def dumps(value: object) -> str:
    """JSON text with ASCII escapes: NUL and surrogates travel as ``\\u`` escapes."""
    return json.dumps(value)


scalar_json = st.one_of(
    st.none().map(dumps),
    st.booleans().map(dumps),
    st.integers().map(dumps),
    edge_ints.map(dumps),
    st.floats().map(dumps),  # NaN and Infinity come out as bare literals
    st.sampled_from(RAW_NUMBERS),
    hostile_text.map(dumps),
    long_text.map(dumps),
)


def _object_text(members: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{dumps(k)}: {v}" for k, v in members) + "}"


json_text = st.recursive(
    scalar_json,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.one_of(hostile_text, long_text), children), max_size=4).map(
            _object_text
        ),
    ),
    max_leaves=12,
)
"""Any JSON value, hostile anywhere."""

deep_json = st.integers(min_value=7, max_value=1100).map(lambda n: '{"a": ' * n + "1" + "}" * n)
"""Objects nested up to past the limit (8) and past what a naive parser survives."""

wide_json = st.sampled_from([64, 65, 512, 513]).map(
    lambda n: _object_text([(f"k{i}", str(i)) for i in range(n)])
)

hostile_value = st.one_of(json_text, deep_json, wide_json)


def instants(now: datetime) -> st.SearchStrategy[str]:
    """Valid recent instants mostly; extreme, naive, numeric and nonsense ones too."""
    recent = st.integers(min_value=-90 * 24 * 60, max_value=10).map(
        lambda m: dumps((now + timedelta(minutes=m)).isoformat())
    )
    extreme = st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "1999-12-31T23:59:59Z",
            "2000-01-01T00:00:00Z",
            "2099-12-31T23:59:59Z",
            "2026-06-15T10:00:00",
            "2026-02-30T10:00:00Z",
            "yesterday",
        ]
    ).map(dumps)
    kinds = {"recent": recent, "extreme": extreme, "hostile": hostile_value}
    return st.sampled_from(["recent"] * 6 + ["extreme", "hostile"]).flatmap(lambda k: kinds[k])


def tainted(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid text with one troublemaker (NUL, a lone surrogate, ...) put in it: the value
    that passes a type check and then fails in the database."""
    troublemakers = st.sampled_from(["\x00", "\x00", "\ud800", "\udfff", "\ud83d"])
    return st.tuples(valid, troublemakers, st.integers(0, 64)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
    )


def maybe(
    valid: st.SearchStrategy[str],
    *,
    taint: st.SearchStrategy[str] | None = None,
    odds: int = 4,
) -> st.SearchStrategy[str]:
    """``valid`` (JSON text) ``odds`` times as often as each bad kind: a hostile value, or
    ``taint`` (plain text, given a troublemaker and encoded).

    Weighted by drawing the kind first: ``st.one_of(valid, valid, ..., bad)`` does not
    weight, as Hypothesis does not pick its branches uniformly."""
    kinds = ["valid"] * odds + ["hostile"] + (["taint"] if taint is not None else [])
    by_kind: dict[str, st.SearchStrategy[str]] = {"valid": valid, "hostile": hostile_value}
    if taint is not None:
        by_kind["taint"] = tainted(taint).map(dumps)
    return st.sampled_from(kinds).flatmap(lambda kind: by_kind[kind])


ONE_IN_TEN = st.sampled_from([False] * 9 + [True])
"""Not ``st.integers(0, 9).map(lambda n: n == 0)``: Hypothesis draws small integers, 0
above all, far more often than uniformly."""


def object_of(fields: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """A JSON object of ``fields``, sometimes missing one or carrying an extra one."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        members = [(name, draw(strategy)) for name, strategy in fields.items()]
        if draw(ONE_IN_TEN):
            members.pop(draw(st.sampled_from(range(len(members)))))
        if draw(ONE_IN_TEN):
            members.append((draw(hostile_text), draw(hostile_value)))
        return _object_text(members)

    return build()


def batch_of(
    item: st.SearchStrategy[str], *, key: str, max_size: int = 8
) -> st.SearchStrategy[str]:
    """A write body ``{key: [...]}`` of mostly well-formed items, some of them hostile
    values instead of objects."""
    one = st.sampled_from([item] * 6 + [hostile_value]).flatmap(lambda s: s)
    items = st.lists(one, min_size=1, max_size=max_size)
    return items.map(lambda xs: "{" + dumps(key) + ": [" + ", ".join(xs) + "]}")
