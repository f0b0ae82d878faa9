"""The storage checks of kit/limits.py on generated values (no database: fast, so many
examples)."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile.strategies import NASTY_CHARS, hostile_value
from wedsync_success.kit.limits import (
    BIGINT_MAX,
    BIGINT_MIN,
    MAX_PROPERTIES_BYTES,
    _first_problem,
    _plainly_storable,
    json_problem,
    parse_json,
    safe_text,
)

texts = st.text(alphabet=st.one_of(st.sampled_from(NASTY_CHARS), st.characters()), max_size=30)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(),
    texts,
    st.sampled_from(["x" * 2000, "x" * 2001, "é" * 2000]),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(texts, children, max_size=5)
    ),
    max_leaves=30,
)
flat_objects = st.dictionaries(
    st.one_of(texts, st.sampled_from(["k" * 128, "k" * 129])), leaves, max_size=70
)


def storable(value: Any) -> bool:
    """The definition, written plainly: what both backends can hold."""
    if isinstance(value, dict):
        return all(
            isinstance(k, str)
            and len(k) <= 128
            and "\x00" not in k
            and not any("\ud800" <= c <= "\udfff" for c in k)
            and storable(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(storable(v) for v in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return BIGINT_MIN <= value <= BIGINT_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    assert isinstance(value, str)
    return (
        len(value) <= 2000
        and "\x00" not in value
        and not any("\ud800" <= c <= "\udfff" for c in value)
    )


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def counts_ok(value: Any) -> bool:
    members = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if len(node) > 64:
                return False
            members += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            members += len(node)
            stack.extend(node)
    return members <= 512


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.dictionaries(texts, values, max_size=6), flat_objects))
def test_json_problem_matches_the_plain_definition(value: dict[str, Any]) -> None:
    expected = storable(value) and depth(value) <= 8 and counts_ok(value)
    if expected:
        expected = size(value) <= MAX_PROPERTIES_BYTES
    assert (json_problem(value) is None) == expected


@settings(max_examples=400, deadline=None)
@given(flat_objects)
def test_the_fast_path_never_vouches_for_what_the_walk_refuses(value: dict[str, Any]) -> None:
    if _plainly_storable(value):
        assert _first_problem(value) is None


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        hostile_value,
        st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 5000).map(lambda n: '{"a":' * n),
    )
)
def test_parse_json_fails_only_with_value_error(text: str) -> None:
    """Anything else (RecursionError, the 4,300-digit limit) would be a 500."""
    with contextlib.suppress(ValueError):
        parse_json(text)


def test_parse_json_reads_a_thousand_levels_and_refuses_more_in_one_error() -> None:
    assert parse_json("[" * 1000 + "]" * 1000) is not None
    with pytest.raises(ValueError, match="nests too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.one_of(st.sampled_from(NASTY_CHARS), st.characters(exclude_categories=())))
)
def test_safe_text_can_always_be_encoded(value: str) -> None:
    shown = safe_text(value)
    shown.encode("utf-8")
    assert "\x00" not in shown
