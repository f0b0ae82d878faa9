"""Surveys delivered through the interventions' channels on real servers (aiosmtpd): the
email's score links record the answer on click, the in-app message takes a picked score,
and the gate's preferences and cap hold surveys back like any message."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.interventions.conftest import (
    emptied_context,
    outbox_count,
    seed_supplier,
)
from tests.interventions.sms_provider import ProviderState
from tests.surveys.helpers import (
    Mailbox,
    intervention_of,
    survey_settings,
    unsubscribe_from_email,
    user_of,
)
from wedsync_success.context import AppContext
from wedsync_success.interventions.channels.base import Category
from wedsync_success.interventions.models import (
    InAppMessage,
    PlaybookRun,
    SuccessTask,
)
from wedsync_success.surveys.models import SurveyResponse
from wedsync_success.web.app import create_app

LINK = re.compile(r"http://127\.0\.0\.1:8000(/s/[A-Za-z0-9_.\-]+)")


@pytest.fixture
async def http(octx: AppContext, api_keys: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(context=octx, run_dispatcher=False)),
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_keys['admin']}"},
    ) as client:
        yield client


def _text(email: EmailMessage) -> str:
    part = email.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


async def _responses(ctx: AppContext) -> list[SurveyResponse]:
    async with ctx.db.sessions() as session:
        return list((await session.scalars(select(SurveyResponse))).all())


async def test_the_email_has_a_link_per_score_and_a_click_records_the_answer_once(
    octx: AppContext, mailbox: Mailbox, http: httpx.AsyncClient
) -> None:
    supplier_id = await seed_supplier(octx)
    asked = await http.post(f"/api/v1/suppliers/{supplier_id}/surveys", json={"kind": "nps"})
    assert asked.status_code == 202, asked.text
    await octx.interventions.worker().work_once()
    email = mailbox[0].only_email()
    assert email["Subject"] == "One quick question about WedSync"
    links = LINK.findall(_text(email))
    assert len(links) == 11  # 0 to 10
    html = email.get_body(("html",))
    assert html is not None
    assert all(link in str(html.get_content()) for link in links)  # type: ignore[attr-defined]

    page = await http.get(links[3], headers={})
    assert page.status_code == 200
    assert "Your answer: <strong>3</strong>" in page.text
    (stored,) = await _responses(octx)
    assert (stored.kind, stored.score, stored.source) == ("nps", 3, "email")
    assert stored.supplier_id == supplier_id
    assert await outbox_count(octx, "survey.detractor") == 1
    message = await intervention_of(octx, asked.json()["intervention_id"])
    assert message.clicked_at is not None
    assert message.template == "survey_nps"

    again = await http.get(links[10])  # a second click (or a link scanner) changes nothing
    assert "Your answer: <strong>3</strong>" in again.text
    assert len(await _responses(octx)) == 1
    assert await outbox_count(octx, "survey.detractor") == 1

    comment = "Bulk <b>invoices</b> please"
    saved = await http.post(
        links[3], content=f"comment={comment}", headers={"Content-Type": "text/plain"}
    )
    assert saved.status_code == 200
    assert "Your comment is saved" in saved.text
    (stored,) = await _responses(octx)
    assert stored.comment == comment
    refused = await http.post(links[3], content="comment=a%00b")
    assert refused.status_code == 422
    assert (await _responses(octx))[0].comment == comment

    tampered = links[3][:-3] + ("aaa" if not links[3].endswith("aaa") else "bbb")
    assert (await http.get(tampered)).status_code == 404
    assert len(await _responses(octx)) == 1


async def test_the_in_app_survey_takes_the_score_the_user_picks(
    octx: AppContext, http: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    supplier_id = await seed_supplier(octx)
    user_id = await user_of(octx, supplier_id)
    asked = await http.post(
        f"/api/v1/suppliers/{supplier_id}/surveys", json={"kind": "csat", "channel": "in_app"}
    )
    assert asked.status_code == 202, asked.text
    await octx.interventions.worker().work_once()
    app_key = {"Authorization": f"Bearer {api_keys['inapp']}"}
    page = (await http.get(f"/api/v1/inapp/users/{user_id}/messages", headers=app_key)).json()
    (item,) = page["items"]
    assert item["kind"] == "survey_csat"
    url = f"/api/v1/surveys/inapp/{item['id']}/answer"

    off_scale = await http.post(
        url, json={"supplier_user_id": str(user_id), "score": 6}, headers=app_key
    )
    assert off_scale.status_code == 422
    assert off_scale.json()["error"]["details"][0]["field"] == "score"
    stranger = await http.post(
        url, json={"supplier_user_id": str(uuid.uuid4()), "score": 2}, headers=app_key
    )
    assert stranger.status_code == 404
    answer = await http.post(
        url,
        json={"supplier_user_id": str(user_id), "score": 2, "comment": "Slow reply"},
        headers=app_key,
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["score"], answer.json()["source"]) == (2, "in_app")
    second = await http.post(
        url, json={"supplier_user_id": str(user_id), "score": 5}, headers=app_key
    )
    assert second.json()["score"] == 2
    assert await outbox_count(octx, "survey.csat_low") == 1
    assert len(await _responses(octx)) == 1
    async with octx.db.sessions() as session:
        message = await session.get(InAppMessage, item["id"])
    assert message is not None
    assert message.clicked_at is not None
    read_key = {"Authorization": f"Bearer {api_keys['read']}"}
    assert (
        await http.post(url, json={"supplier_user_id": str(user_id), "score": 2}, headers=read_key)
    ).status_code == 403


async def test_a_user_is_not_asked_the_same_kind_again_within_the_interval(
    octx: AppContext, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    supplier_id = await seed_supplier(octx)
    url = f"/api/v1/suppliers/{supplier_id}/surveys"
    assert (await http.post(url, json={"kind": "nps"})).status_code == 202
    again = await http.post(url, json={"kind": "nps"})
    assert again.status_code == 200
    assert again.json()["outcome"] == "asked_recently"
    assert (await http.post(url, json={"kind": "csat"})).status_code == 202  # another kind
    clock.advance(days=89)
    assert (await http.post(url, json={"kind": "nps"})).json()["outcome"] == "asked_recently"
    clock.advance(days=1)
    assert (await http.post(url, json={"kind": "nps"})).status_code == 202


async def test_an_unsubscribed_user_gets_no_survey_email(
    octx: AppContext, mailbox: Mailbox, http: httpx.AsyncClient
) -> None:
    supplier_id = await seed_supplier(octx)
    await unsubscribe_from_email(octx, supplier_id)
    asked = await http.post(f"/api/v1/suppliers/{supplier_id}/surveys", json={"kind": "nps"})
    await octx.interventions.worker().work_once()
    assert mailbox[0].emails() == []
    assert (await intervention_of(octx, asked.json()["intervention_id"])).status == "unsubscribed"


async def test_the_frequency_cap_holds_a_survey_back(
    database_url: str,
    clock: FakeClock,
    mailbox: Mailbox,
    sms: tuple[str, ProviderState],
    tmp_path: Path,
) -> None:
    settings = survey_settings(
        database_url,
        mailbox,
        sms,
        tmp_path,
        playbook_options={"frequency_cap": {"messages": 1, "per_days": 7}},
    )
    from wedsync_success.surveys import service
    from wedsync_success.surveys.schemas import SendSurveyIn, SurveyKind

    async with emptied_context(settings, clock) as ctx:
        supplier_id = await seed_supplier(ctx)
        asked = []
        for kind in (SurveyKind.NPS, SurveyKind.CSAT):
            async with ctx.db.transaction() as session:
                asked.append(
                    await service.send_survey(
                        session=session,
                        supplier_id=supplier_id,
                        body=SendSurveyIn(kind=kind),
                        intervals=service.intervals_of(ctx.settings),
                        category=Category.MARKETING,
                        sent_by=None,
                        now=ctx.clock(),
                    )
                )
            await ctx.interventions.worker().work_once()
        assert len(mailbox[0].emails()) == 1
        statuses = [(await intervention_of(ctx, str(a.intervention_id))).status for a in asked]
        assert statuses == ["sent", "capped"]


async def test_a_detractor_starts_the_follow_up_playbook(
    octx: AppContext, http: httpx.AsyncClient
) -> None:
    supplier_id = await seed_supplier(octx)
    body = {
        "response_id": "typeform-1",
        "kind": "nps",
        "score": 2,
        "comment": "Invoices keep failing",
        "supplier_id": str(supplier_id),
        "responded_at": octx.clock().isoformat(),
    }
    assert (await http.post("/api/v1/surveys/responses", json=[body])).json()["low_scores"] == 1
    await octx.dispatcher.drain()
    await octx.interventions.worker().work_once()
    async with octx.db.sessions() as session:
        tasks = list((await session.scalars(select(SuccessTask))).all())
        runs = list((await session.scalars(select(PlaybookRun))).all())
    assert [(r.playbook_key, r.trigger["score"]) for r in runs] == [("detractor_follow_up", 2)]
    assert [(t.reason, t.priority, t.supplier_id) for t in tasks] == [
        ("nps_detractor", "high", supplier_id)
    ]
