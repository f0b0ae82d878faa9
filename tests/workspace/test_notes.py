"""Notes on a supplier: any admin or manager writes one, only its author edits it, its author
or an admin deletes it; the API names the author by email; bad text is refused naming the
field, whatever it is."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.helpers import create_supplier
from tests.workspace.helpers import member
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import Forbidden, NotFound
from wedsync_success.workspace import service
from wedsync_success.workspace.models import SupplierNote
from wedsync_success.workspace.schemas import NoteText


async def _note_count(ctx: AppContext) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SupplierNote)) or 0)


async def test_a_note_is_written_edited_by_its_author_and_listed_newest_first(
    ctx: AppContext, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ana = await member(ctx, "Ana")
    supplier_id = uuid.UUID(await create_supplier(client))
    async with ctx.db.transaction() as session:
        first = await service.add_note(
            session=session,
            supplier_id=supplier_id,
            author=ana,
            text=NoteText(body="  Called Ada: busy season.  "),
            now=clock.now,
        )
    assert (first.body, first.author_name, first.edited) == (
        "Called Ada: busy season.",
        "Ana",
        False,
    )
    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        second = await service.add_note(
            session=session,
            supplier_id=supplier_id,
            author=ana,
            text=NoteText(body="Sent the journeys guide."),
            now=clock.now,
        )
    clock.advance(hours=1)
    async with ctx.db.transaction() as session:
        edited = await service.edit_note(
            session=session,
            note_id=first.id,
            author=ana,
            text=NoteText(body="Called Ada: busy season, back in March."),
            now=clock.now,
        )
    assert edited.edited
    assert edited.updated_at == clock.now
    assert edited.created_at == first.created_at
    async with ctx.db.sessions() as session:
        page = await service.list_notes(
            session=session, supplier_id=supplier_id, cursor=None, limit=50
        )
    assert [n.id for n in page.items] == [second.id, first.id]
    assert page.items[1].body == "Called Ada: busy season, back in March."


async def test_only_the_author_edits_and_the_author_or_an_admin_deletes(
    ctx: AppContext, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ana, ben = await member(ctx, "Ana"), await member(ctx, "Ben")
    root = await member(ctx, "Root", role=TeamRole.ADMIN)
    supplier_id = uuid.UUID(await create_supplier(client))
    async with ctx.db.transaction() as session:
        note = await service.add_note(
            session=session,
            supplier_id=supplier_id,
            author=ana,
            text=NoteText(body="Mine"),
            now=clock.now,
        )
    with pytest.raises(Forbidden):
        async with ctx.db.transaction() as session:
            await service.edit_note(
                session=session,
                note_id=note.id,
                author=ben,
                text=NoteText(body="Ben's"),
                now=clock.now,
            )
    with pytest.raises(Forbidden):
        async with ctx.db.transaction() as session:
            await service.edit_note(
                session=session,
                note_id=note.id,
                author=root,
                text=NoteText(body="Root's"),
                now=clock.now,
            )
    with pytest.raises(Forbidden):
        async with ctx.db.transaction() as session:
            await service.delete_note(session=session, note_id=note.id, by=ben)
    async with ctx.db.sessions() as session:
        assert (await service.get_note(session=session, note_id=note.id)).body == "Mine"
    async with ctx.db.transaction() as session:
        assert await service.delete_note(session=session, note_id=note.id, by=root) == supplier_id
    assert await _note_count(ctx) == 0
    with pytest.raises(NotFound):
        async with ctx.db.transaction() as session:
            await service.delete_note(session=session, note_id=note.id, by=ana)


async def test_the_api_writes_notes_for_a_named_team_member(
    ctx: AppContext, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await member(ctx, "Ana")
    await member(ctx, "Ben")
    await member(ctx, "Root", role=TeamRole.ADMIN)
    supplier_id = await create_supplier(client)
    url = f"/api/v1/suppliers/{supplier_id}/notes"
    made = await client.post(
        url, json={"body": "First call done", "author_email": "ANA@wedsync.example"}
    )
    assert made.status_code == 201, made.text
    note = made.json()
    assert (note["author_name"], note["body"], note["edited"]) == ("Ana", "First call done", False)

    clock.advance(minutes=5)
    by_ben = await client.patch(
        f"/api/v1/notes/{note['id']}",
        json={"body": "Ben was here", "author_email": "ben@wedsync.example"},
    )
    assert by_ben.status_code == 403
    assert by_ben.json()["error"]["code"] == "forbidden"
    by_ana = await client.patch(
        f"/api/v1/notes/{note['id']}",
        json={"body": "First call done, all fine", "author_email": "ana@wedsync.example"},
    )
    assert by_ana.status_code == 200
    assert by_ana.json()["edited"] is True
    listed = (await client.get(url)).json()
    assert [n["body"] for n in listed["items"]] == ["First call done, all fine"]

    ben_deletes = await client.delete(
        f"/api/v1/notes/{note['id']}", params={"author_email": "ben@wedsync.example"}
    )
    assert ben_deletes.status_code == 403
    admin_deletes = await client.delete(
        f"/api/v1/notes/{note['id']}", params={"author_email": "root@wedsync.example"}
    )
    assert admin_deletes.status_code == 204
    assert admin_deletes.content == b""
    assert (await client.get(url)).json()["items"] == []
    gone = await client.delete(
        f"/api/v1/notes/{note['id']}", params={"author_email": "ana@wedsync.example"}
    )
    assert gone.status_code == 404


async def test_api_notes_refuse_unknown_disabled_and_viewer_authors(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    await member(ctx, "Vic", role=TeamRole.VIEWER)
    await member(ctx, "Gone", disabled=True)
    supplier_id = await create_supplier(client)
    url = f"/api/v1/suppliers/{supplier_id}/notes"
    for email, status in [
        ("nobody@wedsync.example", 422),
        ("gone@wedsync.example", 422),
        ("vic@wedsync.example", 403),
        ("not an email", 422),
    ]:
        response = await client.post(url, json={"body": "Hello", "author_email": email})
        assert response.status_code == status, (email, response.text)
        assert response.json()["error"]["details"][0]["field"] == "author_email"
    missing_author = await client.post(url, json={"body": "Hello"})
    assert missing_author.json()["error"]["details"][0]["field"] == "author_email"
    unknown_supplier = await client.post(
        f"/api/v1/suppliers/{uuid.uuid4()}/notes",
        json={"body": "Hi", "author_email": "vic@wedsync.example"},
    )
    assert unknown_supplier.status_code == 403  # the viewer is refused before the lookup
    assert (await client.get(f"/api/v1/suppliers/{uuid.uuid4()}/notes")).status_code == 404
    assert await _note_count(ctx) == 0


async def test_note_text_is_refused_naming_the_field(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    await member(ctx, "Ana")
    supplier_id = await create_supplier(client)
    url = f"/api/v1/suppliers/{supplier_id}/notes"
    for body in ["", "   \n\t", "a" * 10_001, "before\x00after", "lone \ud800 surrogate"]:
        response = await client.post(
            url,
            content=json.dumps({"body": body, "author_email": "ana@wedsync.example"}),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, repr(body[:20])
        assert response.json()["error"]["details"][0]["field"] == "body"
    longest = await client.post(
        url, json={"body": "é" * 10_000, "author_email": "ana@wedsync.example"}
    )
    assert longest.status_code == 201
    extra = await client.post(
        url, json={"body": "x", "author_email": "ana@wedsync.example", "pinned": True}
    )
    assert extra.status_code == 422
    assert extra.json()["error"]["details"][0]["field"] == "pinned"
    assert await _note_count(ctx) == 1


async def test_notes_page_through_a_cursor(
    ctx: AppContext, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await member(ctx, "Ana")
    supplier_id = await create_supplier(client)
    url = f"/api/v1/suppliers/{supplier_id}/notes"
    for i in range(3):
        clock.advance(minutes=1)
        await client.post(url, json={"body": f"note {i}", "author_email": "ana@wedsync.example"})
    seen, cursor = [], None
    while True:
        page = (
            await client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        ).json()
        seen += [n["body"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["note 2", "note 1", "note 0"]
    bad = await client.get(url, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "cursor"


@pytest.fixture
async def ana(ctx: AppContext) -> TeamUser:
    return await member(ctx, "Ana")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.text(max_size=40),
        st.text(min_size=9_990, max_size=10_010, alphabet="ab \x00"),
    )
)
async def test_any_note_body_is_stored_as_written_or_refused_naming_body(
    client: httpx.AsyncClient, ana: TeamUser, body: str
) -> None:
    supplier_id = await create_supplier(client)
    url = f"/api/v1/suppliers/{supplier_id}/notes"
    response = await client.post(url, json={"body": body, "author_email": ana.email})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["error"]["details"][0]["field"] == "body"
        return
    stored = response.json()["body"]
    assert stored in body  # only surrounding blank space is dropped
    assert stored.strip() == body.strip()
    assert 1 <= len(stored) <= 10_000
    assert "\x00" not in stored
    listed = (await client.get(url)).json()["items"]
    assert [n["body"] for n in listed] == [stored]
