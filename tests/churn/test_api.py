"""GET and POST /suppliers/{id}/churn (POST also logs) and POST /churn/predict, on both
backends."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.churn import feature_store, repository
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.churn.registry import Registry
from wedsync_success.context import AppContext


@pytest.fixture
def model(ctx: AppContext, trained: tuple[Registry, dict[str, Any]]) -> dict[str, Any]:
    registry, meta = trained
    ctx.settings.churn_registry = registry.root
    return meta


async def _quiet_supplier(client: httpx.AsyncClient, clock: FakeClock) -> str:
    """Busy for months, silent for the last three weeks, two failed payments."""
    start = clock.now - timedelta(days=120)
    sid = await create_supplier(client, signed_up_at=start.isoformat(), plan_tier="starter")
    events = [event(sid, "login", start + timedelta(days=d, hours=9)) for d in range(0, 99, 2)]
    events += [
        event(sid, "payment_failed", clock.now - timedelta(days=d), properties={"amount": 1900})
        for d in (10, 6)
    ]
    await ingest(client, events)
    return sid


async def test_supplier_churn_explains_itself_in_plain_words(
    client: httpx.AsyncClient, clock: FakeClock, model: dict[str, Any]
) -> None:
    sid = await _quiet_supplier(client, clock)
    response = await client.get(f"/api/v1/suppliers/{sid}/churn")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == model["version"]
    assert 0.0 < body["probability"] < 1.0
    assert body["risk_band"] in ("low", "medium", "high")
    assert body["horizon_days"] == 60
    texts = [d["text"] for d in body["drivers_up"]]
    assert body["drivers_up"], body
    assert all(d["impact"] > 0 for d in body["drivers_up"])
    assert all(d["impact"] < 0 for d in body["drivers_down"])
    assert any("No login for 21 days" in t or "No key action" in t for t in texts), texts


async def test_the_answer_is_the_same_once_the_feature_store_is_at_the_day(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    """Read from the rollups before the store reaches the day, from the store after."""
    sid = await _quiet_supplier(client, clock)
    before = (await client.get(f"/api/v1/suppliers/{sid}/churn")).json()
    async with ctx.db.transaction() as session:
        moved = await feature_store.roll_forward(session, to=clock.now.date(), now=clock.now)
    assert moved.as_of == clock.now.date()
    after = (await client.get(f"/api/v1/suppliers/{sid}/churn")).json()
    assert after == before


async def test_predict_a_feature_record(client: httpx.AsyncClient, model: dict[str, Any]) -> None:
    record = {"days_since_login": 40, "logins_30d": 0, "plan": "free", "payments_failed_90d": 3}
    risky = (await client.post("/api/v1/churn/predict", json={"features": record})).json()
    healthy = {
        "days_since_login": 0,
        "logins_30d": 60,
        "logins_7d": 15,
        "plan": "scale",
        "key_actions_30d": 50,
        "days_since_key_action": 0,
    }
    safe = (await client.post("/api/v1/churn/predict", json={"features": healthy})).json()
    assert risky["model_version"] == model["version"]
    assert risky["probability"] > safe["probability"]
    assert risky["supplier_id"] is None


async def test_bad_feature_records_name_the_field(
    client: httpx.AsyncClient, model: dict[str, Any]
) -> None:
    response = await client.post(
        "/api/v1/churn/predict",
        json={"features": {"logins_per_fortnight": 3, "plan": "platinum", "logins_7d": "many"}},
    )
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"features.logins_per_fortnight", "features.plan", "features.logins_7d"}


async def test_unknown_and_former_suppliers(
    client: httpx.AsyncClient, clock: FakeClock, model: dict[str, Any]
) -> None:
    missing = await client.get("/api/v1/suppliers/00000000-0000-4000-8000-000000000000/churn")
    assert missing.status_code == 404
    sid = await create_supplier(
        client,
        signed_up_at=(clock.now - timedelta(days=90)).isoformat(),
        subscription_status="cancelled",
        subscription_ended_at=(clock.now - timedelta(days=3)).isoformat(),
    )
    gone = await client.get(f"/api/v1/suppliers/{sid}/churn")
    assert gone.status_code == 422
    assert "not a customer" in gone.json()["error"]["message"]


async def test_no_active_model_is_a_404_that_says_what_to_do(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, tmp_path: Path
) -> None:
    ctx.settings.churn_registry = tmp_path / "empty"
    sid = await create_supplier(client)
    for response in (
        await client.get(f"/api/v1/suppliers/{sid}/churn"),
        await client.post("/api/v1/churn/predict", json={"features": {}}),
    ):
        assert response.status_code == 404
        assert "churn train" in response.json()["error"]["message"]


async def test_churn_routes_need_a_read_key(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/churn/predict", json={"features": {}}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


async def _logged(ctx: AppContext) -> list[ChurnPrediction]:
    async with ctx.db.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(ChurnPrediction).order_by(
                        ChurnPrediction.as_of, ChurnPrediction.predicted_at
                    )
                )
            ).all()
        )


async def test_supplier_prediction_is_logged_once_per_day_and_model(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    sid = await _quiet_supplier(client, clock)
    body = (await client.post(f"/api/v1/suppliers/{sid}/churn")).json()
    assert body == (await client.get(f"/api/v1/suppliers/{sid}/churn")).json()
    [row] = await _logged(ctx)
    assert row.supplier_id == uuid.UUID(sid)
    assert row.model_version == body["model_version"] == model["version"]
    assert row.as_of == clock.now.date()
    assert row.horizon_days == 60
    assert row.horizon_end.date() == clock.now.date() + timedelta(days=61)
    assert row.probability == pytest.approx(body["probability"])
    assert row.risk_band == body["risk_band"]
    assert row.predicted_at == clock.now
    assert row.outcome is None
    assert row.drivers is not None
    # The log keeps the answer's groups: each feature with its group and the group's impact.
    assert body["groups"]
    assert [(d["feature"], d["text"], d["group"], d["group_impact"]) for d in row.drivers] == [
        (d["feature"], d["text"], g["group"], g["impact"])
        for g in body["groups"]
        for d in g["drivers"]
    ]

    clock.advance(hours=2)
    again = await client.post(f"/api/v1/suppliers/{sid}/churn")
    assert again.status_code == 200
    [replaced] = await _logged(ctx)  # the same key: replaced, not added
    assert replaced.predicted_at == clock.now

    earlier = (clock.now - timedelta(days=30)).date()
    past = await client.post(f"/api/v1/suppliers/{sid}/churn", params={"as_of": str(earlier)})
    assert past.status_code == 200
    rows = await _logged(ctx)
    assert [r.as_of for r in rows] == [earlier, clock.now.date()]
    assert {r.model_version for r in rows} == {model["version"]}


async def test_a_logged_prediction_gets_its_outcome(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    sid = await _quiet_supplier(client, clock)
    earlier = (clock.now - timedelta(days=20)).date()
    response = await client.post(f"/api/v1/suppliers/{sid}/churn", params={"as_of": str(earlier)})
    assert response.status_code == 200
    await create_supplier(
        client,
        id=sid,
        signed_up_at=(clock.now - timedelta(days=120)).isoformat(),
        plan_tier="starter",
        subscription_status="cancelled",
        subscription_ended_at=(clock.now - timedelta(days=1)).isoformat(),
    )
    async with ctx.db.transaction() as session:  # a return within the horizon could come
        assert await repository.fill_outcomes(session, now=clock.now) == (0, 0)
    [row] = await _logged(ctx)
    async with ctx.db.transaction() as session:
        churned, stayed = await repository.fill_outcomes(session, now=row.horizon_end)
    assert (churned, stayed) == (1, 0)
    [row] = await _logged(ctx)
    assert row.outcome is True


async def test_failed_and_record_predictions_are_not_logged(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    missing = await client.post(f"/api/v1/suppliers/{uuid.uuid4()}/churn")
    assert missing.status_code == 404
    unknown_external = await client.post("/api/v1/suppliers/not-a-uuid/churn")
    assert unknown_external.status_code == 404  # no supplier has that external id
    sid = await create_supplier(
        client,
        signed_up_at=(clock.now - timedelta(days=90)).isoformat(),
        subscription_status="cancelled",
        subscription_ended_at=(clock.now - timedelta(days=3)).isoformat(),
    )
    gone = await client.post(f"/api/v1/suppliers/{sid}/churn")
    assert gone.status_code == 422
    record = await client.post(
        "/api/v1/churn/predict", json={"features": {"days_since_login": 30, "plan": "free"}}
    )
    assert record.status_code == 200
    assert record.json()["model_version"] == model["version"]
    async with ctx.db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ChurnPrediction))
    assert count == 0


async def test_no_active_model_logs_nothing(
    client: httpx.AsyncClient, ctx: AppContext, tmp_path: Path
) -> None:
    ctx.settings.churn_registry = tmp_path / "empty"
    sid = await create_supplier(client)
    assert (await client.post(f"/api/v1/suppliers/{sid}/churn")).status_code == 404
    assert await _logged(ctx) == []


async def test_reading_a_prediction_writes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    """GET computes the answer; only POST logs it, and GET leaves a logged row as it was."""
    sid = await _quiet_supplier(client, clock)
    assert (await client.get(f"/api/v1/suppliers/{sid}/churn")).status_code == 200
    assert await _logged(ctx) == []
    assert (await client.post(f"/api/v1/suppliers/{sid}/churn")).status_code == 200
    [logged] = await _logged(ctx)
    clock.advance(hours=1)
    earlier = str((clock.now - timedelta(days=5)).date())
    assert (await client.get(f"/api/v1/suppliers/{sid}/churn")).status_code == 200
    assert (
        await client.get(f"/api/v1/suppliers/{sid}/churn", params={"as_of": earlier})
    ).status_code == 200
    [after] = await _logged(ctx)
    assert after.predicted_at == logged.predicted_at
