"""Generated hostile rules at the segment write routes and in the segments file: a refusal
names the offending field (422, or a ConfigError for the file), never a 500; what is
accepted is stored exactly and evaluates."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.strategies import dumps, hostile_text, hostile_value, maybe
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import ConfigError
from wedsync_success.segments.definitions import load_segment_catalog

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FIELDS = [
    "vendor_type",
    "plan_tier",
    "country",
    "tenure_days",
    "health.score",
    "health.risk_level",
    "health.engagement",
    "churn.probability",
    "churn.risk_band",
    "milestone",
    "activity.login",
    "activity.referral_sent",
    "activity.BAD",
    "health.nope",
    "",
]
OPS = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "achieved", "not_achieved", "has"]
VALUES = st.one_of(
    st.sampled_from(["photographer", "professional", "GB", "at_risk", "high", "fully_onboarded"]),
    st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.sampled_from(["venue", "florist", "gb", "low"]), max_size=3),
    hostile_text,
    st.none(),
    st.booleans(),
)


def _condition() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"field": st.sampled_from(FIELDS), "op": st.sampled_from(OPS), "value": VALUES},
        optional={"days": st.one_of(st.integers(-1, 4000), st.none(), hostile_text)},
    )


rules = st.recursive(
    _condition(),
    lambda inner: st.dictionaries(
        st.sampled_from(["all", "any", "none"]), st.lists(inner, max_size=4), min_size=1, max_size=2
    ),
    max_leaves=12,
)


def _rule_text() -> st.SearchStrategy[str]:
    return maybe(rules.map(dumps), odds=6)


def _body() -> st.SearchStrategy[str]:
    return st.tuples(
        maybe(
            st.from_regex(r"^[a-z][a-z0-9_]{1,20}$", fullmatch=True).map(dumps), taint=st.just("k")
        ),
        maybe(st.just(dumps("A segment")), taint=st.just("A segment")),
        _rule_text(),
    ).map(lambda t: f'{{"key": {t[0]}, "name": {t[1]}, "rules": {t[2]}}}')


TOP_FIELDS = ("key", "name", "description", "rules", "body")


@EXAMPLES
@given(body=_body())
async def test_hostile_segment_bodies_are_refused_naming_the_field_or_stored_exactly(
    client: httpx.AsyncClient, ctx: AppContext, body: str
) -> None:
    answer = await client.post(
        "/api/v1/segments", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 422:
        details = answer.json()["error"]["details"]
        assert details
        for detail in details:
            assert detail["field"].split(".")[0] in TOP_FIELDS, detail
            assert detail["reason"]
        return
    created = answer.json()
    sent = json.loads(body)
    stored = (await client.get(f"/api/v1/segments/{created['key']}")).json()
    assert stored["name"] == sent["name"]
    assert stored["rules"] == created["rules"]
    # What was stored was evaluated (at creation), and is deleted for the next example.
    assert stored["member_count"] >= 0
    assert (await client.delete(f"/api/v1/segments/{created['key']}")).status_code == 200


TARGET = {
    "key": "target",
    "name": "T",
    "rules": {"all": [{"field": "plan_tier", "op": "eq", "value": "free"}]},
}


@EXAMPLES
@given(
    patch=st.one_of(
        _rule_text().map(lambda r: f'{{"rules": {r}}}'),
        hostile_value.map(lambda v: f'{{"name": {v}}}'),
        hostile_value,
    )
)
async def test_hostile_patches_never_500(client: httpx.AsyncClient, patch: str) -> None:
    if (await client.get("/api/v1/segments/target")).status_code == 404:
        assert (await client.post("/api/v1/segments", json=TARGET)).status_code == 201
    answer = await client.patch(
        "/api/v1/segments/target", content=patch, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        details = answer.json()["error"]["details"]
        assert details
        assert all(d["field"] and d["reason"] for d in details), details


@EXAMPLES
@given(segment_rules=rules, key=st.sampled_from(["ok_key", "Bad Key", "x"]))
def test_the_segments_file_is_refused_with_the_path_of_the_field(
    segment_rules: dict[str, Any], key: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "segments.yaml"
        document = {"version": 1, "segments": [{"key": key, "name": "N", "rules": segment_rules}]}
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        try:
            catalog = load_segment_catalog(path, milestone_keys={"fully_onboarded"})
        except ConfigError as exc:
            refusal: ConfigError | None = exc
        else:
            refusal = None
            assert catalog.segments[0].key == key
    if refusal is not None:
        assert refusal.details, refusal.message
        for detail in refusal.details:
            assert detail["field"].startswith("segments"), detail
