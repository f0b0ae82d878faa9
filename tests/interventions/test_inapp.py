"""The in-app channel on SQLite and PostgreSQL: posting once per intervention, pulling by a
stable cursor, marks recorded once with their success events, users kept apart, the API's
scope and validation, widget tokens and the demo page."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.helpers import create_supplier
from tests.interventions.inapp_helpers import seed_message
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.interventions import inapp, widget_tokens
from wedsync_success.interventions.inapp_schemas import InAppAction
from wedsync_success.interventions.models import InAppMessage, Intervention
from wedsync_success.kit.errors import NotFound, Unauthorized, ValidationFailed
from wedsync_success.suppliers.repository import users_of
from wedsync_success.web.app import create_app
from wedsync_success.web.security import DEMO_CSP


@dataclass(frozen=True)
class People:
    supplier_id: uuid.UUID
    user_id: uuid.UUID
    other_user_id: uuid.UUID


@pytest.fixture
async def people(ctx: AppContext, client: httpx.AsyncClient) -> People:
    """A supplier with two users."""
    supplier_id = uuid.UUID(
        await create_supplier(
            client,
            users=[
                {"email": "ada@bloom.example", "name": "Ada Fern"},
                {"email": "ben@bloom.example", "name": "Ben Moss", "role": "staff"},
            ],
        )
    )
    async with ctx.db.sessions() as session:
        users = await users_of(session, supplier_id)
    by_name = {u.name: u.id for u in users}
    return People(supplier_id, by_name["Ada Fern"], by_name["Ben Moss"])


async def _seed(ctx: AppContext, people: People, **fields: Any) -> tuple[uuid.UUID, int]:
    async with ctx.db.transaction() as session:
        return await seed_message(
            session,
            supplier_id=people.supplier_id,
            supplier_user_id=fields.pop("user_id", people.user_id),
            now=ctx.clock(),
            **fields,
        )


async def _events(ctx: AppContext, event_type: str | None = None) -> list[OutboxEvent]:
    async with ctx.db.sessions() as session:
        query = select(OutboxEvent).where(OutboxEvent.event_type.like("intervention.%"))
        if event_type:
            query = query.where(OutboxEvent.event_type == event_type)
        return list((await session.scalars(query.order_by(OutboxEvent.id))).all())


async def _mark(ctx: AppContext, message_id: int, user_id: uuid.UUID, action: str) -> Any:
    async with ctx.db.transaction() as session:
        return await inapp.mark(
            session=session,
            message_id=message_id,
            supplier_user_id=user_id,
            action=InAppAction(action),
            now=ctx.clock(),
        )


async def _stored(ctx: AppContext, message_id: int) -> tuple[InAppMessage, Intervention]:
    async with ctx.db.sessions() as session:
        message = await session.get(InAppMessage, message_id)
        assert message is not None
        intervention = await session.get(Intervention, message.intervention_id)
        assert intervention is not None
        return message, intervention


# --- posting ------------------------------------------------------------------------------


async def test_posting_twice_for_one_intervention_keeps_one_message(
    ctx: AppContext, people: People
) -> None:
    intervention_id, first = await _seed(ctx, people)
    async with ctx.db.transaction() as session:
        again = await inapp.post_message(
            session=session,
            intervention_id=intervention_id,
            supplier_id=people.supplier_id,
            supplier_user_id=people.user_id,
            kind="coach",
            title="A different title",
            body="Sent again by a retried step",
            cta_label=None,
            cta_url=None,
            now=ctx.clock(),
        )
    assert again == first
    async with ctx.db.sessions() as session:
        rows = (await session.scalars(select(InAppMessage))).all()
    assert [(r.id, r.title) for r in rows] == [(first, "Send your first client form")]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "banner"}, "kind"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "bad\x00title"}, "title"),
        ({"body": ""}, "body"),
        ({"cta_label": "x" * 81}, "cta_label"),
        ({"cta_url": "javascript:alert(1)"}, "cta_url"),
        ({"cta_url": "data:text/html,<script>alert(1)</script>"}, "cta_url"),
        ({"cta_url": "//evil.example/x"}, "cta_url"),
        ({"cta_url": None}, "cta_url"),  # a label without a link
        ({"cta_url": "https://x.example/" + "a" * 500}, "cta_url"),
    ],
)
async def test_a_message_that_cannot_be_shown_safely_is_refused_naming_the_field(
    ctx: AppContext, people: People, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await _seed(ctx, people, **fields)
    assert refused.value.details == [{"field": field, "reason": refused.value.details[0]["reason"]}]
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InAppMessage)) == 0


@given(st.text(max_size=60))
def test_only_http_addresses_and_own_paths_pass_as_a_call_to_action(url: str) -> None:
    if inapp.safe_cta_url(url):
        assert url.startswith(("http://", "https://", "/"))
        assert not url.startswith("//")
        assert not any(c.isspace() or ord(c) < 0x20 for c in url)


@pytest.mark.parametrize(
    "url", ["https://app.wedsync.example/forms?x=1", "http://localhost:8000/a", "/forms/new"]
)
def test_ordinary_calls_to_action_pass(url: str) -> None:
    assert inapp.safe_cta_url(url)


# --- pulling ------------------------------------------------------------------------------


async def test_paging_by_cursor_misses_nothing_and_repeats_nothing_as_messages_arrive(
    ctx: AppContext, people: People
) -> None:
    ids = [(await _seed(ctx, people, title=f"Tip {n}"))[1] for n in range(3)]
    await _seed(ctx, people, user_id=people.other_user_id, title="For Ben")
    seen: list[int] = []
    async with ctx.db.sessions() as session:
        page = await inapp.messages_for(
            session=session, supplier_user_id=people.user_id, after=None, limit=2
        )
    assert [m.id for m in page.items] == ids[:2]
    assert page.has_more
    assert page.next_cursor == ids[1]
    seen += [m.id for m in page.items]
    ids += [(await _seed(ctx, people, title=f"Late tip {n}"))[1] for n in range(2)]
    cursor = page.next_cursor
    while True:
        async with ctx.db.sessions() as session:
            page = await inapp.messages_for(
                session=session, supplier_user_id=people.user_id, after=cursor, limit=2
            )
        seen += [m.id for m in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert seen == ids
    async with ctx.db.sessions() as session:
        empty = await inapp.messages_for(
            session=session, supplier_user_id=people.user_id, after=cursor, limit=2
        )
    assert empty.items == []
    assert empty.next_cursor == cursor
    assert not empty.has_more


async def test_dismissed_messages_are_not_pulled_again(ctx: AppContext, people: People) -> None:
    _, first = await _seed(ctx, people)
    _, second = await _seed(ctx, people, kind="celebration", title="10 forms sent!")
    await _mark(ctx, first, people.user_id, "dismissed")
    async with ctx.db.sessions() as session:
        page = await inapp.messages_for(
            session=session, supplier_user_id=people.user_id, after=None, limit=50
        )
    assert [(m.id, m.kind) for m in page.items] == [(second, "celebration")]


async def _someone_waits_for_an_advisory_lock(ctx: AppContext) -> None:
    deadline = time.monotonic() + 30
    while True:
        async with ctx.db.sessions() as session:
            waiting = await session.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        if waiting:
            return
        assert time.monotonic() < deadline, "the second writer never waited"
        await asyncio.sleep(0.02)


async def test_message_ids_follow_commit_order_for_one_supplier(
    ctx: AppContext, people: People
) -> None:
    """A reader that has seen id N never later finds a message below N: a second post for
    the same supplier waits for the first to commit before it takes its id."""
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time by construction")

    async def second_post() -> int:
        async with ctx.db.transaction() as session:
            return (
                await seed_message(
                    session,
                    supplier_id=people.supplier_id,
                    supplier_user_id=people.user_id,
                    now=ctx.clock(),
                )
            )[1]

    async with ctx.db.transaction() as session:
        _, first = await seed_message(
            session,
            supplier_id=people.supplier_id,
            supplier_user_id=people.user_id,
            now=ctx.clock(),
        )
        later = asyncio.create_task(second_post())
        await _someone_waits_for_an_advisory_lock(ctx)
        assert not later.done()
    assert await later > first


@pytest.mark.parametrize("limit", [0, 201])
async def test_a_page_size_out_of_range_is_refused(
    ctx: AppContext, people: People, limit: int
) -> None:
    async with ctx.db.sessions() as session:
        with pytest.raises(ValidationFailed) as refused:
            await inapp.messages_for(
                session=session, supplier_user_id=people.user_id, after=None, limit=limit
            )
    assert refused.value.details[0]["field"] == "limit"


# --- marking ------------------------------------------------------------------------------


async def test_seen_twice_opens_the_intervention_once_with_one_event(
    ctx: AppContext, people: People, clock: FakeClock
) -> None:
    intervention_id, message_id = await _seed(ctx, people)
    first_seen = clock.now
    out = await _mark(ctx, message_id, people.user_id, "seen")
    assert out.seen_at == first_seen
    assert out.clicked_at is None
    clock.advance(minutes=5)
    again = await _mark(ctx, message_id, people.user_id, "seen")
    assert again.seen_at == first_seen
    message, intervention = await _stored(ctx, message_id)
    assert message.seen_at == first_seen
    assert message.updated_at == first_seen
    assert intervention.opened_at == first_seen
    assert intervention.clicked_at is None
    (event,) = await _events(ctx)
    assert event.event_type == "intervention.opened"
    assert event.supplier_id == people.supplier_id
    assert event.payload["intervention_id"] == str(intervention_id)
    assert event.payload["channel"] == "inapp"
    assert event.payload["message_id"] == message_id
    assert event.payload["playbook_key"] == "at_risk_rescue"
    assert event.payload["step_no"] == 2


async def test_a_click_is_also_a_sighting_and_each_is_recorded_once(
    ctx: AppContext, people: People, clock: FakeClock
) -> None:
    _, message_id = await _seed(ctx, people)
    clicked = clock.now
    await _mark(ctx, message_id, people.user_id, "clicked")
    clock.advance(minutes=1)
    await _mark(ctx, message_id, people.user_id, "seen")
    await _mark(ctx, message_id, people.user_id, "clicked")
    message, intervention = await _stored(ctx, message_id)
    assert (message.seen_at, message.clicked_at) == (clicked, clicked)
    assert (intervention.opened_at, intervention.clicked_at) == (clicked, clicked)
    assert [e.event_type for e in await _events(ctx)] == [
        "intervention.opened",
        "intervention.clicked",
    ]


async def test_a_dismissal_is_recorded_once_and_emits_nothing(
    ctx: AppContext, people: People, clock: FakeClock
) -> None:
    _, message_id = await _seed(ctx, people)
    dismissed = clock.now
    await _mark(ctx, message_id, people.user_id, "dismissed")
    clock.advance(hours=1)
    out = await _mark(ctx, message_id, people.user_id, "dismissed")
    assert out.dismissed_at == dismissed
    assert out.seen_at is None
    _, intervention = await _stored(ctx, message_id)
    assert intervention.opened_at is None
    assert await _events(ctx) == []


async def test_a_mark_rolled_back_leaves_neither_the_mark_nor_its_event(
    ctx: AppContext, people: People
) -> None:
    _, message_id = await _seed(ctx, people)

    class Abort(Exception):
        pass

    async def click_then_fail() -> None:
        async with ctx.db.transaction() as session:
            await inapp.mark(
                session=session,
                message_id=message_id,
                supplier_user_id=people.user_id,
                action=InAppAction.CLICKED,
                now=ctx.clock(),
            )
            raise Abort

    with pytest.raises(Abort):
        await click_then_fail()
    message, intervention = await _stored(ctx, message_id)
    assert message.seen_at is None
    assert intervention.opened_at is None
    assert await _events(ctx) == []


async def test_another_users_message_is_not_found(ctx: AppContext, people: People) -> None:
    _, message_id = await _seed(ctx, people)
    with pytest.raises(NotFound) as other:
        await _mark(ctx, message_id, people.other_user_id, "seen")
    with pytest.raises(NotFound) as missing:
        await _mark(ctx, message_id + 1000, people.other_user_id, "seen")
    assert other.value.message.replace(str(message_id), "N") == missing.value.message.replace(
        str(message_id + 1000), "N"
    )
    message, _ = await _stored(ctx, message_id)
    assert message.seen_at is None
    async with ctx.db.sessions() as session:
        page = await inapp.messages_for(
            session=session, supplier_user_id=people.other_user_id, after=None, limit=50
        )
    assert page.items == []


# --- the API ------------------------------------------------------------------------------


def _as(api_keys: dict[str, str], scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_keys[scope]}"}


async def test_the_app_pulls_and_marks_through_the_api(
    ctx: AppContext, people: People, client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    _, message_id = await _seed(ctx, people)
    key = _as(api_keys, "inapp")
    response = await client.get(f"/api/v1/inapp/users/{people.user_id}/messages", headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [m["id"] for m in body["items"]] == [message_id]
    assert body["items"][0]["cta_url"] == "https://app.wedsync.example/forms/new"
    assert body["next_cursor"] == message_id
    assert body["has_more"] is False
    for _ in range(2):
        response = await client.post(
            f"/api/v1/inapp/messages/{message_id}/clicked",
            headers=key,
            json={"supplier_user_id": str(people.user_id)},
        )
        assert response.status_code == 200, response.text
        assert response.json()["clicked_at"] is not None
    assert len(await _events(ctx, "intervention.clicked")) == 1
    after = await client.get(
        f"/api/v1/inapp/users/{people.user_id}/messages",
        params={"after": message_id},
        headers=key,
    )
    assert after.json() == {"items": [], "next_cursor": message_id, "has_more": False}


async def test_another_users_message_is_404_like_a_missing_one(
    ctx: AppContext, people: People, client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    _, message_id = await _seed(ctx, people)
    answers = [
        await client.post(
            f"/api/v1/inapp/messages/{target}/seen",
            headers=_as(api_keys, "inapp"),
            json={"supplier_user_id": str(people.other_user_id)},
        )
        for target in (message_id, message_id + 1000)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json()["error"]["code"] == "not_found"
    assert str(message_id) in answers[0].json()["error"]["message"]
    assert await _events(ctx) == []


@pytest.mark.parametrize("scope", ["read", "ingest"])
async def test_a_key_without_the_inapp_scope_is_refused(
    ctx: AppContext,
    people: People,
    client: httpx.AsyncClient,
    api_keys: dict[str, str],
    scope: str,
) -> None:
    _, message_id = await _seed(ctx, people)
    pull = await client.get(
        f"/api/v1/inapp/users/{people.user_id}/messages", headers=_as(api_keys, scope)
    )
    mark = await client.post(
        f"/api/v1/inapp/messages/{message_id}/seen",
        headers=_as(api_keys, scope),
        json={"supplier_user_id": str(people.user_id)},
    )
    assert [pull.status_code, mark.status_code] == [403, 403]
    assert mark.json()["error"]["details"] == [{"field": "scope", "reason": "'inapp' required"}]
    message, _ = await _stored(ctx, message_id)
    assert message.seen_at is None


async def test_an_admin_key_carries_the_inapp_scope(
    people: People, client: httpx.AsyncClient
) -> None:
    response = await client.get(f"/api/v1/inapp/users/{people.user_id}/messages")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "json", "field"),
    [
        ("GET", "/api/v1/inapp/users/not-a-uuid/messages", None, "supplier_user_id"),
        ("GET", "/api/v1/inapp/users/{user}/messages?limit=0", None, "limit"),
        ("GET", "/api/v1/inapp/users/{user}/messages?limit=201", None, "limit"),
        ("GET", "/api/v1/inapp/users/{user}/messages?after=-1", None, "after"),
        ("GET", "/api/v1/inapp/users/{user}/messages?after=x", None, "after"),
        ("POST", "/api/v1/inapp/messages/1/read", {"supplier_user_id": "{user}"}, "action"),
        ("POST", "/api/v1/inapp/messages/0/seen", {"supplier_user_id": "{user}"}, "message_id"),
        ("POST", "/api/v1/inapp/messages/1/seen", {}, "supplier_user_id"),
        ("POST", "/api/v1/inapp/messages/1/seen", {"supplier_user_id": "x"}, "supplier_user_id"),
        (
            "POST",
            "/api/v1/inapp/messages/1/seen",
            {"supplier_user_id": "{user}", "extra": 1},
            "extra",
        ),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    people: People,
    client: httpx.AsyncClient,
    api_keys: dict[str, str],
    method: str,
    path: str,
    json: dict[str, Any] | None,
    field: str,
) -> None:
    body = {k: str(people.user_id) if v == "{user}" else v for k, v in (json or {}).items()}
    response = await client.request(
        method,
        path.replace("{user}", str(people.user_id)),
        headers=_as(api_keys, "inapp"),
        json=body if json is not None else None,
    )
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]]


# --- widget tokens and routes --------------------------------------------------------------


def test_a_widget_token_names_its_user_until_it_expires(clock: FakeClock) -> None:
    user = uuid.uuid4()
    token = widget_tokens.mint(secret_key=TEST_SECRET_KEY, supplier_user_id=user, now=clock.now)
    clock.advance(seconds=widget_tokens.TOKEN_SECONDS)
    assert widget_tokens.verify(secret_key=TEST_SECRET_KEY, token=token, now=clock.now) == user
    clock.advance(seconds=1)
    with pytest.raises(Unauthorized, match="expired"):
        widget_tokens.verify(secret_key=TEST_SECRET_KEY, token=token, now=clock.now)


@pytest.mark.parametrize("kind", ["other key", "tampered", "empty", "garbage", "not widget"])
def test_a_token_not_minted_here_for_the_widget_is_refused(clock: FakeClock, kind: str) -> None:
    user = uuid.uuid4()
    token = widget_tokens.mint(secret_key=TEST_SECRET_KEY, supplier_user_id=user, now=clock.now)
    if kind == "other key":
        token = widget_tokens.mint(secret_key="x" * 40, supplier_user_id=user, now=clock.now)
    elif kind == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif kind == "empty":
        token = ""
    elif kind == "garbage":
        token = "a.b.c" * 300
    else:
        token = widget_tokens._serializer(TEST_SECRET_KEY, clock.now).dumps(
            {"scope": "admin", "sub": str(user)}
        )
    with pytest.raises(Unauthorized):
        widget_tokens.verify(secret_key=TEST_SECRET_KEY, token=token, now=clock.now)


async def test_the_widget_pulls_and_marks_with_its_token_only(
    ctx: AppContext, people: People, client: httpx.AsyncClient
) -> None:
    _, mine = await _seed(ctx, people)
    _, bens = await _seed(ctx, people, user_id=people.other_user_id)
    token = widget_tokens.mint(
        secret_key=TEST_SECRET_KEY, supplier_user_id=people.user_id, now=ctx.clock()
    )
    widget = {"Authorization": f"Bearer {token}"}
    pulled = await client.get("/widget/v1/messages", headers=widget)
    assert [m["id"] for m in pulled.json()["items"]] == [mine]
    assert (
        await client.post(f"/widget/v1/messages/{mine}/seen", headers=widget)
    ).status_code == 200
    assert (
        await client.post(f"/widget/v1/messages/{bens}/seen", headers=widget)
    ).status_code == 404
    # An API key (the client's default header) is not a widget token.
    assert (await client.get("/widget/v1/messages")).status_code == 401
    assert len(await _events(ctx, "intervention.opened")) == 1


async def test_the_widget_routes_answer_any_origin_and_the_api_does_not(
    client: httpx.AsyncClient,
) -> None:
    preflight = {
        "Origin": "https://app.wedsync.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    widget = await client.options("/widget/v1/messages/1/seen", headers=preflight)
    assert widget.status_code == 200
    assert widget.headers["access-control-allow-origin"] == "*"
    assert "authorization" in widget.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in widget.headers
    api = await client.options("/api/v1/suppliers", headers=preflight)
    assert "access-control-allow-origin" not in api.headers


# --- the demo page ------------------------------------------------------------------------


async def test_the_demo_page_shows_the_supplier_app_as_its_owner(
    ctx: AppContext, people: People, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    demo = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"demo_pages": True}))
    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(context=demo, run_dispatcher=False)),
        base_url="http://test",
    )
    async with anonymous:
        page = await anonymous.get(f"/demo/supplier-app/{people.supplier_id}")
        missing = await anonymous.get(f"/demo/supplier-app/{uuid.uuid4()}")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == DEMO_CSP
    assert "Bloom &amp; Vow Florals" in page.text
    assert "Ada Fern" in page.text
    assert "/static/widget/coach.js" in page.text
    assert "<script>" not in page.text
    token = page.text.split('data-token="', 1)[1].split('"', 1)[0]
    assert (
        widget_tokens.verify(secret_key=TEST_SECRET_KEY, token=token, now=clock.now)
        == people.user_id
    )
    assert missing.status_code == 404


async def test_the_demo_page_is_not_served_unless_demo_pages_is_on(
    people: People, client: httpx.AsyncClient
) -> None:
    page = await client.get(f"/demo/supplier-app/{people.supplier_id}")
    assert page.status_code == 404
