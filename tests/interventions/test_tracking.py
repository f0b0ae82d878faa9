"""Opens and clicks: recorded once, events emitted once, even when hit twice at once; the
pixel is always a GIF and the redirect only goes where the signed link says."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import FakeClock
from tests.interventions.conftest import (
    Recipient,
    intervention,
    outbox_count,
    sent_email,
)
from wedsync_success.context import AppContext
from wedsync_success.events.types import SuccessEventType
from wedsync_success.interventions import tracking
from wedsync_success.interventions.links import TrackingLinks
from wedsync_success.interventions.tracking_api import PIXEL
from wedsync_success.kit.errors import ServiceUnavailable

OPENED = SuccessEventType.INTERVENTION_OPENED.value
CLICKED = SuccessEventType.INTERVENTION_CLICKED.value
TARGET = "https://app.wedsync.example/forms/new"


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_the_first_open_is_recorded_once(
    ctx: AppContext, recipient: Recipient, clock: FakeClock
) -> None:
    ident = await sent_email(ctx, recipient)
    first = clock.now
    async with ctx.db.transaction() as session:
        assert await tracking.record_open(session=session, intervention_id=ident, now=first)
    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        assert not await tracking.record_open(session=session, intervention_id=ident, now=clock())
    row = await intervention(ctx, ident)
    assert row.opened_at == first
    assert row.clicked_at is None
    assert await outbox_count(ctx, OPENED) == 1


async def test_a_click_records_the_open_too_once(
    ctx: AppContext, recipient: Recipient, clock: FakeClock
) -> None:
    ident = await sent_email(ctx, recipient)
    first = clock.now
    for _ in range(2):
        async with ctx.db.transaction() as session:
            await tracking.record_click(
                session=session, intervention_id=ident, target=TARGET, now=clock()
            )
        clock.advance(minutes=5)
    row = await intervention(ctx, ident)
    assert (row.opened_at, row.clicked_at) == (first, first)
    assert await outbox_count(ctx, OPENED) == 1
    assert await outbox_count(ctx, CLICKED) == 1


async def test_a_click_after_an_open_keeps_the_open(
    ctx: AppContext, recipient: Recipient, clock: FakeClock
) -> None:
    ident = await sent_email(ctx, recipient)
    opened = clock.now
    async with ctx.db.transaction() as session:
        await tracking.record_open(session=session, intervention_id=ident, now=opened)
    clock.advance(minutes=3)
    async with ctx.db.transaction() as session:
        assert await tracking.record_click(
            session=session, intervention_id=ident, target=TARGET, now=clock()
        )
    row = await intervention(ctx, ident)
    assert (row.opened_at, row.clicked_at) == (opened, clock.now)
    assert await outbox_count(ctx, OPENED) == 1


async def test_an_unknown_intervention_records_nothing(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        assert not await tracking.record_open(
            session=session, intervention_id=uuid.uuid4(), now=ctx.clock()
        )
    assert await outbox_count(ctx, OPENED) == 0


async def test_concurrent_opens_and_clicks_record_once(
    ctx: AppContext, recipient: Recipient
) -> None:
    """Two sessions at once for each of several messages: one open and one click each."""
    idents = [await sent_email(ctx, recipient) for _ in range(5)]

    async def open_once(ident: uuid.UUID) -> bool:
        async with ctx.db.transaction() as session:
            return await tracking.record_open(
                session=session, intervention_id=ident, now=ctx.clock()
            )

    async def click_once(ident: uuid.UUID) -> bool:
        async with ctx.db.transaction() as session:
            return await tracking.record_click(
                session=session, intervention_id=ident, target=TARGET, now=ctx.clock()
            )

    for ident in idents:
        opens = await asyncio.gather(open_once(ident), open_once(ident))
        assert sorted(opens) == [False, True]
        clicks = await asyncio.gather(click_once(ident), click_once(ident))
        assert sorted(clicks) == [False, True]
    assert await outbox_count(ctx, OPENED) == len(idents)
    assert await outbox_count(ctx, CLICKED) == len(idents)


async def _waiting_row_locks(ctx: AppContext) -> int:
    async with ctx.db.engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
        )
    return int(found or 0)


async def test_a_waiting_second_open_finds_the_first_committed(
    ctx: AppContext, recipient: Recipient
) -> None:
    """PostgreSQL: the second UPDATE waits on the row, re-checks `opened_at IS NULL` against
    the committed row, and updates nothing."""
    if ctx.db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    ident = await sent_email(ctx, recipient)

    async def second() -> bool:
        async with ctx.db.transaction() as session:
            return await tracking.record_open(
                session=session, intervention_id=ident, now=ctx.clock()
            )

    async with ctx.db.transaction() as first:
        assert await tracking.record_open(session=first, intervention_id=ident, now=ctx.clock())
        waiting = asyncio.create_task(second())
        for _ in range(2000):
            if await _waiting_row_locks(ctx) >= 1:
                break
            await asyncio.sleep(0.005)
        else:
            raise AssertionError("the second open never waited for the first")
        assert not waiting.done()
    assert await asyncio.wait_for(waiting, timeout=60) is False
    assert await outbox_count(ctx, OPENED) == 1


async def test_the_pixel_records_the_open_and_is_a_gif(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    ident = await sent_email(ctx, recipient)
    anonymous = {"Authorization": ""}
    for _ in range(2):
        response = await client.get(path_of(links.pixel_url(ident)), headers=anonymous)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.headers["cache-control"].startswith("no-store")
        assert response.content == PIXEL
    assert PIXEL[:6] == b"GIF89a"
    assert PIXEL[6:10] == b"\x01\x00\x01\x00"
    assert PIXEL[19:23] == b"\x21\xf9\x04\x01"  # graphic control: transparent colour on
    assert (await intervention(ctx, ident)).opened_at == ctx.clock()
    assert await outbox_count(ctx, OPENED) == 1


async def test_a_bad_pixel_token_still_gets_the_gif_and_records_nothing(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    ident = await sent_email(ctx, recipient)
    good = path_of(links.pixel_url(ident))
    # The signature's first character changed (its last one may only hold padding bits).
    head, _, signature = good.removesuffix(".gif").rpartition(".")
    forged = f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}.gif"
    for path in (forged, "/t/o/nonsense.gif", good.replace("/t/o/", "/t/o/A")):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.content == PIXEL
    assert (await intervention(ctx, ident)).opened_at is None
    assert await outbox_count(ctx, OPENED) == 0


async def test_the_click_redirects_to_the_signed_target_and_records_once(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    ident = await sent_email(ctx, recipient)
    for _ in range(2):
        response = await client.get(path_of(links.click_url(ident, TARGET)))
        assert response.status_code == 303
        assert response.headers["location"] == TARGET
        assert response.headers["referrer-policy"] == "no-referrer"
    row = await intervention(ctx, ident)
    assert row.clicked_at == row.opened_at == ctx.clock()
    assert await outbox_count(ctx, CLICKED) == 1


async def test_a_bad_click_token_is_a_404_page_and_no_redirect(
    client: httpx.AsyncClient, ctx: AppContext, recipient: Recipient, links: TrackingLinks
) -> None:
    ident = await sent_email(ctx, recipient)
    good = path_of(links.click_url(ident, TARGET))
    evil = path_of(links.click_url(ident, "https://evil.example/"))
    forged = evil.rpartition(".")[0] + "." + good.rpartition(".")[2]
    for path in (good[:-3] + "zzz", forged, "/t/c/" + quote("https://evil.example/", safe="")):
        response = await client.get(path)
        assert response.status_code == 404
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "not valid" in response.text
    assert (await intervention(ctx, ident)).clicked_at is None


HOSTILE_TOKENS = st.text(max_size=200).map(lambda t: quote(t, safe=""))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(token=HOSTILE_TOKENS)
async def test_arbitrary_tokens_never_cause_a_server_error(
    client: httpx.AsyncClient, token: str
) -> None:
    pixel = await client.get(f"/t/o/{token}.gif")
    assert pixel.status_code == 200
    assert pixel.content == PIXEL
    for response in (
        await client.get(f"/t/c/{token}"),
        await client.get(f"/u/{token}"),
        await client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click"),
    ):
        assert response.status_code == 404, (token, response.status_code, response.text)
        assert response.headers["content-type"].startswith("text/html")


async def test_a_database_too_busy_to_record_still_answers(
    client: httpx.AsyncClient,
    ctx: AppContext,
    recipient: Recipient,
    links: TrackingLinks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lost open is better than a broken image or link."""

    async def busy(**_: object) -> bool:
        raise ServiceUnavailable("contended")

    monkeypatch.setattr(tracking, "record_open", busy)
    monkeypatch.setattr(tracking, "record_click", busy)
    ident = await sent_email(ctx, recipient)
    pixel = await client.get(path_of(links.pixel_url(ident)))
    assert pixel.status_code == 200
    assert pixel.content == PIXEL
    redirect = await client.get(path_of(links.click_url(ident, TARGET)))
    assert redirect.status_code == 303
    assert redirect.headers["location"] == TARGET
