"""The profile's churn block with an active model: a prediction older than the supplier's
activity is recomputed for the page (and nothing is written); a current one is shown as
logged, with when it was computed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from tests.web.signin import add_user, log_in
from wedsync_success.churn.models import ChurnPrediction, SupplierChurnCurrent
from wedsync_success.churn.registry import Registry
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES

NOT_REACHED = "Not yet: First client added"
"""How the logged driver reads on the page (old rows are re-worded by fmt.driver_groups)."""


@pytest.fixture
def model(ctx: AppContext, trained: tuple[Registry, dict[str, Any]]) -> dict[str, Any]:
    registry, meta = trained
    ctx.settings.churn_registry = registry.root
    return meta


async def _rows(ctx: AppContext) -> tuple[int, int]:
    async with ctx.db.sessions() as session:
        logged = await session.scalar(select(func.count()).select_from(ChurnPrediction))
        current = await session.scalar(select(func.count()).select_from(SupplierChurnCurrent))
    return int(logged or 0), int(current or 0)


async def test_new_activity_refreshes_the_churn_block_on_the_page(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock, model: dict[str, Any]
) -> None:
    await add_user(ctx)
    await log_in(client)
    start = clock.now - timedelta(days=60)
    sid = await create_supplier(client, signed_up_at=start.isoformat(), plan_tier="starter")
    await ingest(
        client, [event(sid, "login", start + timedelta(days=d, hours=9)) for d in range(0, 40, 4)]
    )
    clock.advance(minutes=30)
    # This morning's scoring: no client yet, and the logged reason says so.
    async with ctx.db.transaction() as session:
        await write_predictions(
            session,
            PredictionBatch(
                model_version=model["version"],
                as_of=clock.now.date(),
                horizon_days=60,
                horizon_end=clock.now + timedelta(days=61),
                predicted_at=clock.now,
                supplier_ids=[uuid.UUID(sid)],
                probabilities=[0.52],
                risk_bands=["high"],
                drivers=[
                    [
                        {
                            "feature": "days_to_first_client_added",
                            "value": None,
                            "impact": 0.5,
                            "text": "has not reached 'First client added'",
                            "direction": "up",
                        }
                    ]
                ],
            ),
            rates=DEFAULT_RATES,
        )
    page = (await client.get(f"/suppliers/{sid}")).text
    assert 'data-churn-state="logged"' in page
    assert NOT_REACHED in page
    assert f"features as of {clock.now:%d %b %Y}" in page
    assert f"predicted {clock.now:%d %b %Y, %H:%M} UTC" in page

    clock.advance(minutes=40)  # a new login and a first client, after the scoring
    await ingest(
        client,
        [
            event(sid, "login", clock.now - timedelta(minutes=3)),
            event(sid, "client_added", clock.now - timedelta(minutes=2)),
        ],
    )
    before = await _rows(ctx)
    page = (await client.get(f"/suppliers/{sid}")).text
    assert 'data-milestone="first_client_added"' in page
    assert 'data-churn-state="fresh"' in page
    assert "Updated just now from today's activity" in page
    assert f"model {model['version']}" in page
    assert NOT_REACHED not in page  # the block agrees with the milestone card
    assert await _rows(ctx) == before  # a GET page computes, it does not write

    # Logged again through the API (after the activity): the page shows the logged one.
    clock.advance(minutes=5)
    assert (await client.post(f"/api/v1/suppliers/{sid}/churn")).status_code == 200
    page = (await client.get(f"/suppliers/{sid}")).text
    assert 'data-churn-state="logged"' in page
    assert NOT_REACHED not in page
