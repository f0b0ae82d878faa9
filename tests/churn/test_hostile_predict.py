"""POST /churn/predict with hostile records scored by a real model, on both backends: a
record the model can score gets a finite probability, anything else a 422 naming the
feature; never a 5xx."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.strategies import dumps, hostile_value, tainted
from wedsync_success.churn.registry import Registry
from wedsync_success.context import AppContext

FEATURES = ["days_since_login", "logins_30d", "plan", "payments_failed_90d", "logins_7d"]


@pytest.fixture
def model(ctx: AppContext, trained: tuple[Registry, dict[str, Any]]) -> dict[str, Any]:
    registry, meta = trained
    ctx.settings.churn_registry = registry.root
    return meta


def records() -> st.SearchStrategy[str]:
    names = st.one_of(st.sampled_from(FEATURES), tainted(st.sampled_from(FEATURES)))
    values = st.one_of(
        st.integers(0, 90).map(dumps),
        st.floats(allow_nan=False, allow_infinity=False).map(dumps),
        st.sampled_from(["free", "starter", "scale"]).map(dumps),
        hostile_value,
    )
    members = st.lists(st.tuples(names, values), max_size=5)
    return members.map(
        lambda ms: '{"features": {' + ", ".join(f"{dumps(k)}: {v}" for k, v in ms) + "}}"
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_hostile_records_never_fail_the_model(
    client: httpx.AsyncClient, model: dict[str, Any], data: st.DataObject
) -> None:
    body = data.draw(records(), label="body")
    response = await client.post(
        "/api/v1/churn/predict",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code == 200:
        probability = response.json()["probability"]
        assert math.isfinite(probability)
        assert 0.0 <= probability <= 1.0
        assert response.json()["model_version"] == model["version"]
    elif response.status_code == 422:
        for detail in response.json()["error"]["details"]:
            assert detail["field"].startswith("features"), detail


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('{"features": {"logins_30d": NaN}}', "features.logins_30d", "finite number"),
        ('{"features": {"logins_30d": -Infinity}}', "features.logins_30d", "finite number"),
        ('{"features": {"logins_30d": 1e999}}', "features.logins_30d", "finite number"),
        ('{"features": {"plan": "free\\u0000"}}', "features.plan", "NUL"),
        ('{"features": {"logins\\u0000": 1}}', "features.logins\\u0000", "NUL"),
        # pydantic reads a key it cannot decode with replacement characters, echoed as such
        ('{"features": {"logins\\ud800": 1}}', "features.logins" + "\ufffd" * 3, "surrogate"),
        ('{"features": {"logins_30d": [1]}}', "features.logins_30d", "finite number"),
        ('{"features": {"logins_30d": 1}, "extra": 1}', "extra", "not a known field"),
    ],
)
async def test_unscorable_records_name_the_feature(
    client: httpx.AsyncClient, model: dict[str, Any], body: str, field: str, reason: str
) -> None:
    response = await client.post(
        "/api/v1/churn/predict",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == field
    assert reason in detail["reason"]
