"""Contact preferences: the set-based check, the transactional rule, the unsubscribe pages
(one-click without cookies) and the API with its scopes."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import event

from tests.conftest import FakeClock
from tests.interventions.conftest import Recipient
from wedsync_success.context import AppContext
from wedsync_success.interventions import preferences
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.links import TrackingLinks
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.web.app import create_app

PATH = "/api/v1/supplier-users/{}/preferences"


async def subscribed(
    ctx: AppContext, ids: list[uuid.UUID], channel: Channel, category: Category
) -> set[uuid.UUID]:
    async with ctx.db.sessions() as session:
        return await preferences.is_subscribed(
            session=session, supplier_user_ids=ids, channel=channel, category=category
        )


async def choose(
    ctx: AppContext, user_id: uuid.UUID, channel: Channel, category: Category, value: bool
) -> None:
    async with ctx.db.transaction() as session:
        await preferences.set_preference(
            session=session,
            supplier_user_id=user_id,
            channel=channel,
            category=category,
            subscribed=value,
            source="api",
            now=ctx.clock(),
        )


async def test_without_a_choice_everyone_is_subscribed(
    ctx: AppContext, recipient: Recipient
) -> None:
    others = [uuid.uuid4() for _ in range(3)]
    ids = [recipient.user_id, *others]
    for channel in Channel:
        for category in Category:
            assert await subscribed(ctx, ids, channel, category) == set(ids)
    assert await subscribed(ctx, [], Channel.EMAIL, Category.MARKETING) == set()


async def test_many_users_are_checked_in_one_query(ctx: AppContext, recipient: Recipient) -> None:
    await choose(ctx, recipient.user_id, Channel.EMAIL, Category.MARKETING, False)
    ids = [recipient.user_id, *(uuid.uuid4() for _ in range(2000))]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        result = await subscribed(ctx, ids, Channel.EMAIL, Category.MARKETING)
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    assert result == set(ids) - {recipient.user_id}
    assert len([s for s in statements if "contact_preferences" in s]) == 1


async def test_a_marketing_unsubscribe_never_blocks_transactional_messages(
    ctx: AppContext, recipient: Recipient
) -> None:
    user = recipient.user_id
    for channel in (Channel.EMAIL, Channel.IN_APP, Channel.SMS):
        await choose(ctx, user, channel, Category.MARKETING, False)
        assert await subscribed(ctx, [user], channel, Category.MARKETING) == set()
        assert await subscribed(ctx, [user], channel, Category.TRANSACTIONAL) == {user}
    # and each channel's choice is its own
    await choose(ctx, user, Channel.EMAIL, Category.MARKETING, True)
    assert await subscribed(ctx, [user], Channel.EMAIL, Category.MARKETING) == {user}
    assert await subscribed(ctx, [user], Channel.SMS, Category.MARKETING) == set()


async def test_sms_stop_blocks_every_sms_and_nothing_else(
    ctx: AppContext, recipient: Recipient
) -> None:
    user = recipient.user_id
    await choose(ctx, user, Channel.SMS, Category.TRANSACTIONAL, False)
    assert await subscribed(ctx, [user], Channel.SMS, Category.TRANSACTIONAL) == set()
    assert await subscribed(ctx, [user], Channel.SMS, Category.MARKETING) == set()
    assert await subscribed(ctx, [user], Channel.EMAIL, Category.MARKETING) == {user}
    await choose(ctx, user, Channel.SMS, Category.TRANSACTIONAL, True)  # START
    assert await subscribed(ctx, [user], Channel.SMS, Category.MARKETING) == {user}


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.IN_APP])
async def test_transactional_email_and_in_app_cannot_be_refused(
    ctx: AppContext, recipient: Recipient, channel: Channel
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await choose(ctx, recipient.user_id, channel, Category.TRANSACTIONAL, False)
    assert refused.value.details[0]["field"] == "0.subscribed"
    await choose(ctx, recipient.user_id, channel, Category.TRANSACTIONAL, True)  # allowed
    assert await subscribed(ctx, [recipient.user_id], channel, Category.TRANSACTIONAL) == {
        recipient.user_id
    }


async def test_setting_a_preference_is_idempotent(
    ctx: AppContext, recipient: Recipient, clock: FakeClock
) -> None:
    first = clock.now
    await choose(ctx, recipient.user_id, Channel.EMAIL, Category.MARKETING, False)
    clock.advance(days=1)
    await choose(ctx, recipient.user_id, Channel.EMAIL, Category.MARKETING, False)
    async with ctx.db.sessions() as session:
        prefs = await preferences.preferences_for(
            session=session, supplier_user_id=recipient.user_id
        )
    (email,) = [p for p in prefs.preferences if p.channel == "email" and p.category == "marketing"]
    assert (email.subscribed, email.updated_at, email.source) == (False, first, "api")
    assert len(prefs.preferences) == 6
    others = [p for p in prefs.preferences if p is not email]
    assert all(p.subscribed and p.source is None and p.updated_at is None for p in others)


async def test_an_unknown_user_is_not_found(ctx: AppContext) -> None:
    with pytest.raises(NotFound):
        await choose(ctx, uuid.uuid4(), Channel.EMAIL, Category.MARKETING, False)
    async with ctx.db.sessions() as session:
        with pytest.raises(NotFound):
            await preferences.preferences_for(session=session, supplier_user_id=uuid.uuid4())


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_the_unsubscribe_page_asks_and_a_get_changes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    url = links.unsubscribe_url(recipient.user_id, Channel.EMAIL, Category.MARKETING)
    page = await client.get(_path(url))
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert "Unsubscribe" in page.text
    assert "script" not in page.headers["content-security-policy"].replace("none", "")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"].startswith("no-store")
    assert await subscribed(ctx, [recipient.user_id], Channel.EMAIL, Category.MARKETING) == {
        recipient.user_id
    }


async def test_the_page_button_unsubscribes(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    url = links.unsubscribe_url(recipient.user_id, Channel.EMAIL, Category.MARKETING)
    response = await client.post(_path(url))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert await subscribed(ctx, [recipient.user_id], Channel.EMAIL, Category.MARKETING) == set()
    async with ctx.db.sessions() as session:
        prefs = await preferences.preferences_for(
            session=session, supplier_user_id=recipient.user_id
        )
    assert {p.source for p in prefs.preferences} == {None, "unsubscribe_link"}


async def test_one_click_unsubscribe_works_without_cookies_or_csrf(
    ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    """RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click`, with nothing else."""
    url = links.unsubscribe_url(recipient.user_id, Channel.SMS, Category.MARKETING)
    transport = httpx.ASGITransport(app=create_app(context=ctx, run_dispatcher=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://mail.example") as bare:
        for _ in range(2):  # a repeat is answered the same way
            response = await bare.post(
                _path(url),
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert response.status_code == 200, response.text
        assert not bare.cookies
    assert await subscribed(ctx, [recipient.user_id], Channel.SMS, Category.MARKETING) == set()
    assert await subscribed(ctx, [recipient.user_id], Channel.SMS, Category.TRANSACTIONAL) == {
        recipient.user_id
    }
    async with ctx.db.sessions() as session:
        prefs = await preferences.preferences_for(
            session=session, supplier_user_id=recipient.user_id
        )
    assert "one_click" in {p.source for p in prefs.preferences}


async def test_bad_unsubscribe_links_change_nothing(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    good = _path(links.unsubscribe_url(recipient.user_id, Channel.EMAIL, Category.MARKETING))
    gone = _path(links.unsubscribe_url(uuid.uuid4(), Channel.EMAIL, Category.MARKETING))
    refused = _path(links.unsubscribe_url(recipient.user_id, Channel.EMAIL, Category.TRANSACTIONAL))
    for path in (good[:-2] + "xx", gone, refused):
        response = await client.post(path, content=b"List-Unsubscribe=One-Click")
        assert response.status_code == 404
        assert "not valid" in response.text
    assert (await client.get(good[:-2] + "xx")).status_code == 404
    for category in Category:
        assert await subscribed(ctx, [recipient.user_id], Channel.EMAIL, category) == {
            recipient.user_id
        }


async def test_the_api_reads_and_sets_preferences(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, api_keys: dict[str, str]
) -> None:
    path = PATH.format(recipient.user_id)
    body = [
        {"channel": "email", "category": "marketing", "subscribed": False},
        {"channel": "sms", "category": "transactional", "subscribed": False},
    ]
    for key in ("ingest", "admin"):
        put = await client.put(
            path, json=body, headers={"Authorization": f"Bearer {api_keys[key]}"}
        )
        assert put.status_code == 200, put.text
    got = await client.get(path, headers={"Authorization": f"Bearer {api_keys['read']}"})
    assert got.status_code == 200
    assert got.json() == put.json()
    refused = {
        (p["channel"], p["category"]) for p in got.json()["preferences"] if not p["subscribed"]
    }
    assert refused == {("email", "marketing"), ("sms", "transactional")}
    assert await subscribed(ctx, [recipient.user_id], Channel.SMS, Category.MARKETING) == set()


async def test_the_api_needs_its_scopes(
    client: httpx.AsyncClient, recipient: Recipient, api_keys: dict[str, str]
) -> None:
    path = PATH.format(recipient.user_id)
    body = [{"channel": "email", "category": "marketing", "subscribed": False}]
    read = {"Authorization": f"Bearer {api_keys['read']}"}
    assert (await client.put(path, json=body, headers=read)).status_code == 403
    ingest = {"Authorization": f"Bearer {api_keys['ingest']}"}
    assert (await client.get(path, headers=ingest)).status_code == 403
    anonymous = {"Authorization": ""}
    assert (await client.get(path, headers=anonymous)).status_code == 401
    assert (await client.put(path, json=body, headers=anonymous)).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"channel": "fax", "category": "marketing", "subscribed": False}], "0.channel"),
        ([{"channel": "task", "category": "marketing", "subscribed": False}], "0.channel"),
        ([{"channel": "email", "category": "spam", "subscribed": False}], "0.category"),
        ([{"channel": "email", "category": "marketing", "subscribed": "no"}], "0.subscribed"),
        ([{"channel": "email", "category": "marketing"}], "0.subscribed"),
        (
            [{"channel": "email", "category": "marketing", "subscribed": False, "x": 1}],
            "0.x",
        ),
        ([{"channel": "email", "category": "transactional", "subscribed": False}], "0.subscribed"),
        ({"channel": "email"}, "body"),
        ([], "body"),
    ],
)
async def test_invalid_bodies_name_the_field(
    client: httpx.AsyncClient, recipient: Recipient, body: object, field: str
) -> None:
    response = await client.put(PATH.format(recipient.user_id), json=body)
    assert response.status_code == 422, response.text
    assert field in [d["field"] for d in response.json()["error"]["details"]], response.json()


async def test_a_choice_listed_twice_is_refused(
    client: httpx.AsyncClient, recipient: Recipient
) -> None:
    item = {"channel": "email", "category": "marketing", "subscribed": False}
    response = await client.put(
        PATH.format(recipient.user_id), json=[item, {**item, "subscribed": True}]
    )
    assert response.status_code == 422
    assert "listed twice" in response.text


async def test_unknown_users_are_404_in_the_api(client: httpx.AsyncClient) -> None:
    path = PATH.format(uuid.uuid4())
    assert (await client.get(path)).status_code == 404
    body = [{"channel": "email", "category": "marketing", "subscribed": False}]
    assert (await client.put(path, json=body)).status_code == 404
