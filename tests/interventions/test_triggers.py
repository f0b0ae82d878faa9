"""Each kind of trigger, end to end: a failed payment posted to the API, a milestone, the
daily sweep (a week without a first form), a churn-probability band, and a webhook step."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.interventions.conftest import (
    emptied_context,
    intervention_settings,
    playbooks_config,
    seed_supplier,
)
from tests.interventions.sms_provider import ProviderState
from tests.interventions.smtp_server import Collector
from tests.interventions.webhook_receiver import webhook_receiver
from wedsync_success.churn.repository import PredictionBatch, write_predictions
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions.models import InAppMessage, Intervention, PlaybookRun
from wedsync_success.interventions.playbooks import load_playbooks
from wedsync_success.interventions.runtime import build_adapters
from wedsync_success.kit.currency import DEFAULT_RATES
from wedsync_success.kit.errors import ConfigError
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.web.app import create_app

Mailbox = tuple[Collector, Controller]
Sms = tuple[str, ProviderState]


async def _runs(ctx: AppContext) -> list[PlaybookRun]:
    async with ctx.db.sessions() as session:
        return list(
            (await session.scalars(select(PlaybookRun).order_by(PlaybookRun.playbook_key))).all()
        )


async def test_a_failed_payment_posted_to_the_api_starts_the_recovery(
    octx: AppContext, mailbox: Mailbox, api_keys: dict[str, str], clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    app = create_app(context=octx, run_dispatcher=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_keys['ingest']}"},
    ) as client:
        event = {
            "event_id": "pay-1",
            "supplier_id": str(supplier_id),
            "type": "payment_failed",
            "occurred_at": (clock.now - timedelta(minutes=1)).isoformat(),
            "properties": {"kind": "subscription", "amount": 4900},
        }
        couple = event | {"event_id": "pay-2", "properties": {"kind": "client_invoice"}}
        history = event | {  # imported history: stored and scored, but nothing to act on
            "event_id": "pay-0",
            "occurred_at": (clock.now - timedelta(days=30)).isoformat(),
        }
        for _ in range(2):  # the same failure twice: stored once, one run
            response = await client.post(
                "/api/v1/events", json={"events": [history, event, couple]}
            )
            assert response.status_code == 200, response.text
    await octx.dispatcher.drain()
    (run,) = await _runs(octx)
    assert run.playbook_key == "failed_payment_recovery"
    assert run.trigger["amount"] == 4900
    async with octx.db.sessions() as session:
        announced = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "supplier.payment_failed")
        )
        assert [p["activity_event_id"] for p in announced] == ["pay-1"]
    await octx.interventions.worker().work_once()
    email = mailbox[0].only_email()
    assert "payment" in email["Subject"].lower()


async def test_a_milestone_is_celebrated_in_the_app_and_by_email(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    async with octx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    SuccessEventType.MILESTONE_ACHIEVED,
                    supplier_id,
                    clock.now,
                    {"milestone": "first_client_added", "name": "First client added"},
                ),
                NewEvent(  # not one the playbook celebrates
                    SuccessEventType.MILESTONE_ACHIEVED,
                    supplier_id,
                    clock.now,
                    {"milestone": "profile_completed", "name": "Profile completed"},
                ),
            ],
            now=clock.now,
        )
    await octx.dispatcher.drain()
    (run,) = await _runs(octx)
    assert run.playbook_key == "milestone_celebration"
    worker = octx.interventions.worker()
    await worker.work_once()
    await worker.work_once()
    async with octx.db.sessions() as session:
        (card,) = (await session.scalars(select(InAppMessage))).all()
    assert (card.kind, card.title) == ("celebration", "First client added - brilliant!")
    assert "First client added" in mailbox[0].only_email().get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_the_daily_sweep_nudges_a_week_old_supplier_without_a_first_form_once(
    octx: AppContext, mailbox: Mailbox, clock: FakeClock
) -> None:
    week_old = await seed_supplier(octx, signed_up_at=(clock.now - timedelta(days=8)).isoformat())
    formed = await seed_supplier(octx, signed_up_at=(clock.now - timedelta(days=9)).isoformat())
    await seed_supplier(octx, signed_up_at=(clock.now - timedelta(days=2)).isoformat())
    await seed_supplier(octx, signed_up_at=(clock.now - timedelta(days=60)).isoformat())
    async with octx.db.transaction() as session:
        session.add(
            MilestoneAchievement(
                supplier_id=formed,
                milestone_key="first_form_created",
                achieved_at=clock.now - timedelta(days=3),
                days_to_achieve=6.0,
                detected_at=clock.now,
            )
        )
    worker = octx.interventions.worker()
    assert await worker.sweep_daily() == 1
    assert await worker.sweep_daily() == 0  # once a day
    clock.advance(days=1)
    assert await worker.sweep_daily() == 0  # already enrolled: no stacking, no re-enrolment
    (run,) = await _runs(octx)
    assert (run.playbook_key, run.supplier_id) == ("onboarding_nudge", week_old)
    await worker.work_once()
    assert len(mailbox[0].envelopes) == 1


async def test_a_churn_probability_band_and_an_audience_decide_who_enrols(
    database_url: str, clock: FakeClock, mailbox: Mailbox, sms: Sms, tmp_path: Path
) -> None:
    path = playbooks_config(tmp_path / "p.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rescue = data["playbooks"][0]
    rescue["trigger"]["when"]["churn_probability"] = {"min": 0.5}
    rescue["audience"] = {"vendor_types": ["venue"]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = intervention_settings(
        database_url, smtp_port=mailbox[1].port, sms_url=sms[0], playbooks=path
    )
    async with emptied_context(settings, clock) as ctx:
        likely = await seed_supplier(ctx, vendor_type="venue")
        unlikely = await seed_supplier(ctx, vendor_type="venue")
        florist = await seed_supplier(ctx, vendor_type="florist")
        unscored = await seed_supplier(ctx, vendor_type="venue")
        async with ctx.db.transaction() as session:  # as churn scoring writes them
            scored = ((likely, 0.7), (unlikely, 0.2), (florist, 0.9))
            await write_predictions(session, _predictions(scored, clock), rates=DEFAULT_RATES)
        async with ctx.db.transaction() as session:
            await enqueue(
                session=session,
                events=[
                    NewEvent(
                        SuccessEventType.RISK_LEVEL_CHANGED,
                        s,
                        clock.now,
                        {"risk_level": "at_risk", "previous_risk_level": "watch"},
                    )
                    for s in (likely, unlikely, florist, unscored)
                ],
                now=clock.now,
            )
        await ctx.dispatcher.drain()
        assert [r.supplier_id for r in await _runs(ctx)] == [likely]


def _predictions(scored: Sequence[tuple[uuid.UUID, float]], clock: FakeClock) -> PredictionBatch:
    return PredictionBatch(
        model_version="v0001",
        as_of=clock.now.date(),
        horizon_days=90,
        horizon_end=clock.now + timedelta(days=90),
        predicted_at=clock.now,
        supplier_ids=[sid for sid, _ in scored],
        probabilities=[p for _, p in scored],
        risk_bands=["high" if p >= 0.5 else "low" for _, p in scored],
        drivers=[None] * len(scored),
    )


async def test_a_webhook_step_posts_a_signed_payload_to_the_marketing_tool(
    database_url: str,
    mailbox: Mailbox,
    sms: Sms,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    clock = FakeClock(datetime.now(UTC))  # receivers refuse signatures with a stale timestamp
    secret = "whsec_" + base64.b64encode(b"m" * 32).decode()
    monkeypatch.setenv("MARKETING_WEBHOOK_SECRET", secret)
    with webhook_receiver(secret) as (url, receiver):
        path = playbooks_config(
            tmp_path / "p.yaml",
            webhooks={
                "marketing": {"url": f"{url}/hooks", "secret_env": "MARKETING_WEBHOOK_SECRET"}
            },
        )
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["playbooks"][0]["steps"] = [
            {"channel": "webhook", "target": "marketing", "action": "start_winback_campaign"}
        ]
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        settings = intervention_settings(
            database_url, smtp_port=mailbox[1].port, sms_url=sms[0], playbooks=path
        )
        with pytest.raises(ConfigError, match=r"webhooks\.marketing\.url: refused: 127\.0\.0\.1"):
            build_adapters(settings, load_playbooks(path), clock)  # the receiver is on loopback
        settings = settings.model_copy(update={"outbound_allow_private": True})
        async with emptied_context(settings, clock) as ctx:
            supplier_id = await seed_supplier(
                ctx, business_name="Grand Oak Barn", vendor_type="venue"
            )
            async with ctx.db.transaction() as session:
                await enqueue(
                    session=session,
                    events=[
                        NewEvent(
                            SuccessEventType.RISK_LEVEL_CHANGED,
                            supplier_id,
                            clock.now,
                            {"risk_level": "critical", "previous_risk_level": "watch"},
                        )
                    ],
                    now=clock.now,
                )
            await ctx.dispatcher.drain()
            await ctx.interventions.worker().work_once()
            (delivery,) = receiver.deliveries
            assert delivery.payload["action"] == "start_winback_campaign"
            assert delivery.payload["supplier"]["business_name"] == "Grand Oak Barn"
            async with ctx.db.sessions() as session:
                (row,) = (await session.scalars(select(Intervention))).all()
            assert (row.status, row.provider_id) == ("sent", delivery.headers["webhook-id"])
