"""The profile's explanations as a page shows them: strengths and gaps against healthy, what
would raise the score, peers, onboarding progress instead of a band, grouped churn drivers."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import numpy as np

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from tests.web.signin import add_user, browser, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.churn.explain import as_logged, drivers
from wedsync_success.churn.features import FeatureSpec
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import DEFAULT_RATES


def _list(html: str, list_id: str) -> str:
    """The markup of the list with ``id="list_id"``."""
    match = re.search(rf'id="{list_id}">(.*?)</(?:ul|ol)>', html, re.S)
    assert match, f"no #{list_id} on the page"
    return match.group(1)


async def _page(ctx: AppContext, path: str) -> str:
    async with browser(ctx) as http:
        await log_in(http)
        response = await http.get(path)
        assert response.status_code == 200, response.text
        return response.text


async def test_bad_events_are_gaps_and_the_page_says_what_would_raise_the_score(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await add_user(ctx, role=TeamRole.ADMIN)
    await create_supplier(client, business_name="A silent peer")  # scores 20
    sid = await create_supplier(client, business_name="Fern & Fable")
    await ingest(
        client,
        [event(sid, "login", clock.now - timedelta(days=d, hours=1)) for d in range(20)]
        + [
            event(sid, "payment_failed", clock.now - timedelta(days=3)),
            event(sid, "support_ticket_opened", clock.now - timedelta(days=2)),
        ],
    )
    page = await _page(ctx, f"/suppliers/{sid}")
    strengths, gaps = _list(page, "strengths"), _list(page, "gaps")
    assert "Active on 20 days of the last 30" in strengths  # 20 of the healthy 16: on track
    assert "failed payment" not in strengths
    assert "support ticket" not in strengths
    assert "1 failed payment in the last 90 days" in gaps
    assert "1 support ticket opened in the last 30 days" in gaps
    assert "What raises the score" not in page
    assert "neutral" not in page
    assert "What would raise the score most" in page
    raise_most = _list(page, "improvements")
    first = re.search(r'data-component="(\w+)"><span class="impact">\+([\d.]+)</span>', raise_most)
    assert first
    assert first.groups() == ("adoption", "15.0")
    assert "Stop payments failing (update the card)" in raise_most

    peers = page[page.index('id="peer-context"') :]
    assert 'class="peer-chart"' in peers
    assert "data-peer-percentile>75th<" in peers  # above its one peer: (1 + 0.5) of 2
    assert peers.count('class="peer-bar') == 10


async def test_an_onboarding_supplier_shows_its_progress_not_critical(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await add_user(ctx, role=TeamRole.ADMIN)
    signup = (clock.now - timedelta(days=12)).isoformat()
    new = await create_supplier(client, business_name="Petal Start", signed_up_at=signup)
    await ingest(client, [event(new, "profile_completed", clock.now - timedelta(hours=2))])
    old = await create_supplier(client, business_name="Long Quiet Studio")

    page = await _page(ctx, f"/suppliers/{new}")
    card = page[page.index('id="score-card"') : page.index('id="health-explanation"')]
    assert 'class="badge risk-onboarding"' in card
    assert "Onboarding" in card
    assert "risk-critical" not in card
    assert "Day 13 of 30" in card
    assert "1 of 4 onboarding milestones" in card
    assert "✓</span> Profile completed" in card

    listing = await _page(ctx, "/suppliers?risk_level=onboarding")
    assert "Petal Start" in listing
    assert '<div class="muted small" data-onboarding>Day 13 of 30 · 1/4 milestones</div>' in listing
    assert "Long Quiet Studio" not in listing
    assert '<option value="onboarding" selected>Onboarding</option>' in listing
    critical = await _page(ctx, "/suppliers?risk_level=critical")
    assert "Long Quiet Studio" in critical
    assert "data-onboarding" not in critical
    assert "Petal Start" not in critical
    overview = await _page(ctx, "/")
    tile = re.search(r'risk-tile risk-onboarding"[^>]*>\s*<span class="risk-count">(\d+)', overview)
    assert tile
    assert tile.group(1) == "1"
    assert old


def _batch(sid: str, clock: FakeClock, logged: list[dict[str, Any]], day: int) -> PredictionBatch:
    return PredictionBatch(
        model_version="v0009",
        as_of=clock.now.date() - timedelta(days=day),
        horizon_days=60,
        horizon_end=clock.now + timedelta(days=60),
        predicted_at=clock.now,
        supplier_ids=[uuid.UUID(sid)],
        probabilities=[0.52],
        risk_bands=["high"],
        drivers=[logged],
    )


async def test_churn_drivers_are_grouped_facts_old_rows_included(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await add_user(ctx, role=TeamRole.ADMIN)
    sid = await create_supplier(client)
    spec = FeatureSpec(("first_client_added",), ("First client added",))
    names = list(spec.names)
    contributions = np.zeros(len(names) + 1)
    values = np.zeros(len(names))
    values[names.index("days_to_first_client_added")] = np.nan
    contributions[names.index("days_to_first_client_added")] = -0.08  # the model: lowers risk
    contributions[names.index("days_since_login")] = 0.4
    contributions[names.index("logins_30d")] = 0.1
    values[names.index("days_since_login")] = 23
    values[names.index("logins_30d")] = 0
    found = drivers(contributions, values, names, spec=spec)
    async with ctx.db.transaction() as session:
        await write_predictions(
            session, _batch(sid, clock, list(as_logged(found)), day=0), rates=DEFAULT_RATES
        )
    page = await _page(ctx, f"/suppliers/{sid}")
    groups = page[page.index('id="churn-drivers"') :]
    assert "Pushing the risk up" not in page
    assert "Pushing it down" not in page
    assert re.search(
        r'data-group="logins">\s*<details>\s*<summary><span class="impact">\+0\.50', groups
    )
    assert "No login for 23 days" in groups
    assert "No logins in the last 30 days" in groups
    onboarding = groups[groups.index('data-group="onboarding"') :]
    assert "Onboarding milestones" in onboarding
    assert "lower the risk" in onboarding
    assert "Not yet: First client added" in onboarding
    assert groups.index('data-group="logins"') < groups.index('data-group="onboarding"')

    old = [
        {
            "feature": "days_to_first_client_added",
            "value": None,
            "impact": 0.3,
            "text": "has not reached 'First client added'",
            "direction": "up",
        }
    ]
    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        await write_predictions(session, _batch(sid, clock, old, day=-1), rates=DEFAULT_RATES)
    page = await _page(ctx, f"/suppliers/{sid}")
    assert "has not reached" not in page
    assert "Not yet: First client added" in page[page.index('id="churn-drivers"') :]
