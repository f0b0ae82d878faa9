"""A live churn prediction's score and drivers are kept per (model, feature row): asked
again with nothing changed they come from memory; a new event (another row) or another model
is scored afresh."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.churn import serving
from wedsync_success.churn.prediction import PREDICTORS
from wedsync_success.churn.registry import Registry
from wedsync_success.context import AppContext


@pytest.fixture
def model(ctx: AppContext, trained: tuple[Registry, dict[str, Any]]) -> Registry:
    registry, _ = trained
    ctx.settings.churn_registry = registry.root
    serving.SCORED._entries.clear()  # the other backend's run scored the same rows
    return registry


async def test_an_answer_is_reused_until_the_suppliers_row_changes(
    client: httpx.AsyncClient, clock: FakeClock, model: Registry
) -> None:
    start = clock.now - timedelta(days=90)
    sid = await create_supplier(client, signed_up_at=start.isoformat())
    await ingest(client, [event(sid, "login", start + timedelta(days=d)) for d in range(0, 60, 3)])
    first = (await client.get(f"/api/v1/suppliers/{sid}/churn")).json()
    entries = len(serving.SCORED._entries)
    assert (await client.get(f"/api/v1/suppliers/{sid}/churn")).json() == first
    assert len(serving.SCORED._entries) == entries  # the same row: nothing new was scored

    await ingest(client, [event(sid, "login", clock.now - timedelta(hours=1))])
    after = (await client.get(f"/api/v1/suppliers/{sid}/churn")).json()
    assert len(serving.SCORED._entries) == entries + 1  # a new row: scored afresh
    assert after != first  # a login today moves the answer
    serving.SCORED._entries.clear()
    assert (await client.get(f"/api/v1/suppliers/{sid}/churn")).json() == after


def test_another_model_never_gets_an_answer_of_the_first(model: Registry) -> None:
    first = PREDICTORS.active(model)
    other = dataclasses.replace(first, bands={"low": 0.0, "medium": 0.0, "high": 0.0})
    cache = serving.ScoredRows(size=2)
    row = np.zeros(len(first.names))
    assert cache.score(first, row) is cache.score(first, row)
    assert cache.score(other, row) is not cache.score(first, row)
    cache.score(first, row + 1)  # a third entry: the oldest goes
    assert len(cache._entries) == 2
