"""The profile's workspace (contacts, notes, create a task, start a playbook, snooze alerts, a
message from a template) and the Tasks page (my board, the team's, snooze, reassign): every
write is a manager's with the form's CSRF token; a viewer gets 403 and nothing is written."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from tests.web.signin import browser, csrf, log_in
from tests.workspace.helpers import PASSWORD, member
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.context import AppContext
from wedsync_success.interventions.models import PlaybookRun, SuccessTask
from wedsync_success.suppliers.models import Supplier, SupplierUser
from wedsync_success.web import outreach_pages
from wedsync_success.workspace.models import AccountSnooze, SupplierNote

HTML = {"accept": "text/html,application/xhtml+xml"}


@asynccontextmanager
async def signed_in(ctx: AppContext, user: TeamUser) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(ctx) as http:
        assert (await log_in(http, user.email, PASSWORD)).status_code == 303
        yield http


@dataclass
class Desk:
    """A supplier with an owner, a note by Ana, an open task of Ana's, and Ana signed in."""

    ctx: AppContext
    api: httpx.AsyncClient
    http: httpx.AsyncClient
    ana: TeamUser
    ben: TeamUser
    supplier_id: str
    note_id: str
    task_id: str

    async def page(self, path: str | None = None) -> str:
        response = await self.http.get(path or f"/suppliers/{self.supplier_id}")
        assert response.status_code == 200, response.text
        return response.text

    async def post(self, path: str, data: dict[str, str], **kw: Any) -> httpx.Response:
        token = csrf(await self.page())
        return await self.http.post(path, data={"csrf": token, **data}, **kw)


@pytest.fixture
async def desk(ctx: AppContext, client: httpx.AsyncClient) -> AsyncIterator[Desk]:
    ana = await member(ctx, "Ana")
    ben = await member(ctx, "Ben")
    supplier_id = await create_supplier(
        client, business_name="Lantern Hall", account_owner_id=str(ben.id)
    )
    note = await client.post(
        f"/api/v1/suppliers/{supplier_id}/notes",
        json={"body": "Met them at the fair", "author_email": ana.email},
    )
    task = await client.post(
        "/api/v1/tasks",
        json={
            "supplier_id": supplier_id,
            "reason": "renewal_call",
            "title": "Call about the renewal",
            "due_on": "2026-06-20",
            "owner_id": str(ana.id),
        },
    )
    async with signed_in(ctx, ana) as http:
        yield Desk(
            ctx,
            client,
            http,
            ana,
            ben,
            supplier_id,
            note.json()["id"],
            task.json()["task"]["id"],
        )


async def _count(ctx: AppContext, model: type[Any]) -> int:
    async with ctx.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _state(ctx: AppContext) -> tuple[Any, ...]:
    """Everything the workspace routes write, to compare before and after a refusal."""
    async with ctx.db.sessions() as session:
        notes = sorted((n.id, n.body) for n in (await session.scalars(select(SupplierNote))))
        tasks = sorted(
            (t.id, t.owner_id, t.snoozed_until, t.status)
            for t in (await session.scalars(select(SuccessTask)))
        )
        snoozes = sorted((s.id, s.ended_at) for s in (await session.scalars(select(AccountSnooze))))
        runs = await session.scalar(select(func.count()).select_from(PlaybookRun))
        owners = sorted((o.id, o.account_owner_id) for o in await session.scalars(select(Supplier)))
    return notes, tasks, snoozes, runs, owners


def _writes(desk: Desk) -> list[tuple[str, dict[str, str]]]:
    """Each workspace write route with a body a manager's request would be accepted with."""
    s = desk.supplier_id
    return [
        (f"/suppliers/{s}/notes", {"body": "Viewer's note"}),
        (f"/notes/{desk.note_id}/edit", {"body": "Changed"}),
        (f"/notes/{desk.note_id}/delete", {}),
        (f"/suppliers/{s}/tasks", {"title": "T", "due_on": "2026-06-20", "priority": "low"}),
        (f"/suppliers/{s}/playbooks", {"playbook": "at_risk_rescue"}),
        (f"/suppliers/{s}/snooze", {"days": "7", "reason": "Holiday"}),
        (f"/suppliers/{s}/snooze/end", {}),
        (f"/tasks/{desk.task_id}/snooze", {"days": "3"}),
        (f"/tasks/{desk.task_id}/owner", {"owner_id": str(desk.ben.id)}),
        (f"/suppliers/{s}/owner", {"owner_id": str(desk.ana.id)}),
        ("/suppliers/owner", {"supplier_id": s, "owner_id": str(desk.ana.id)}),
    ]


async def test_a_viewer_is_refused_every_write_and_nothing_changes(
    desk: Desk, ctx: AppContext
) -> None:
    await desk.post(f"/suppliers/{desk.supplier_id}/snooze", data={"days": "7", "reason": "R"})
    viewer = await member(ctx, "Vic", role=TeamRole.VIEWER)
    before = await _state(ctx)
    async with signed_in(ctx, viewer) as http:
        page = await http.get(f"/suppliers/{desk.supplier_id}")
        token = csrf(page.text)
        for path, data in _writes(desk):
            response = await http.post(path, data={"csrf": token, **data}, headers=HTML)
            assert response.status_code == 403, path
            assert "viewer" in response.text, path
        # and the pages offer a viewer no forms to begin with
        assert f'action="/suppliers/{desk.supplier_id}/notes"' not in page.text
        assert 'action="/notes/' not in page.text
        assert f'action="/suppliers/{desk.supplier_id}/tasks"' not in page.text
        assert "End snooze now" not in page.text
        assert "data-read-only" in page.text
        assert f'action="/suppliers/{desk.supplier_id}/owner"' not in page.text
        listing = await http.get("/suppliers?owner=all&sort=score")
        assert "Lantern Hall" in listing.text
        assert 'action="/suppliers/owner"' not in listing.text
        assert 'name="supplier_id"' not in listing.text
        tasks = await http.get("/tasks?owner=all")
        assert 'action="/tasks/' not in tasks.text
    assert await _state(ctx) == before


async def test_every_write_needs_the_forms_csrf_token(desk: Desk, ctx: AppContext) -> None:
    before = await _state(ctx)
    for path, data in _writes(desk):
        for token in ("", "forged"):
            response = await desk.http.post(path, data={"csrf": token, **data})
            assert response.status_code == 403, path
    assert await _state(ctx) == before


async def test_writes_need_a_signed_in_member(desk: Desk, ctx: AppContext) -> None:
    before = await _state(ctx)
    async with browser(ctx) as anonymous:
        for path, data in _writes(desk):
            response = await anonymous.post(path, data=data)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login")
        compose = await anonymous.get(f"/suppliers/{desk.supplier_id}/compose?template=x")
        assert compose.status_code == 303
    assert await _state(ctx) == before


async def test_the_profile_lists_contacts_with_when_each_was_last_seen(
    desk: Desk, ctx: AppContext, clock: FakeClock
) -> None:
    users = [
        {
            "email": "ada@lantern.example",
            "name": "Ada Fern",
            "role": "owner",
            "phone": "+447911123456",
        },
        {"email": "bo@lantern.example", "name": "Bo Reed", "role": "assistant"},
    ]
    supplier_id = await create_supplier(desk.api, business_name="Two Hands", users=users)
    async with ctx.db.sessions() as session:
        ids = {
            u.email: u.id
            for u in await session.scalars(
                select(SupplierUser).where(SupplierUser.supplier_id == uuid.UUID(supplier_id))
            )
        }
    seen = clock.now - timedelta(hours=3)
    await ingest(
        desk.api,
        [
            event(
                supplier_id,
                "login",
                seen - timedelta(days=2),
                user_id=str(ids["ada@lantern.example"]),
            ),
            event(supplier_id, "login", seen, user_id=str(ids["ada@lantern.example"])),
            event(supplier_id, "form_created", seen - timedelta(days=1)),  # nobody in particular
        ],
    )
    page = await desk.page(f"/suppliers/{supplier_id}")
    ada = re.search(rf'data-contact="{ids["ada@lantern.example"]}">(.*?)</tr>', page, re.S)
    bo = re.search(rf'data-contact="{ids["bo@lantern.example"]}">(.*?)</tr>', page, re.S)
    assert ada is not None
    assert bo is not None
    assert "Ada Fern" in ada.group(1)
    assert "mailto:ada@lantern.example" in ada.group(1)
    assert "+447911123456" in ada.group(1)
    assert "15 Jun 2026, 09:00 UTC" in ada.group(1)
    assert "Assistant" in bo.group(1)
    assert re.search(r"data-last-seen>never<", bo.group(1))
    profile = (await desk.api.get(f"/api/v1/suppliers/{supplier_id}")).json()
    seen_at = {u["email"]: u["last_seen_at"] for u in profile["users"]}
    assert seen_at == {"ada@lantern.example": "2026-06-15T09:00:00Z", "bo@lantern.example": None}


async def test_a_note_is_added_shown_on_the_timeline_edited_and_deleted(
    desk: Desk, clock: FakeClock
) -> None:
    added = await desk.post(f"/suppliers/{desk.supplier_id}/notes", {"body": "Ada prefers calls"})
    assert added.status_code == 303
    assert added.headers["location"] == f"/suppliers/{desk.supplier_id}#notes"
    page = await desk.page()
    assert "Note added" in page
    assert "Ada prefers calls" in re.search(r'id="notes".*?</section>', page, re.S).group(0)  # type: ignore[union-attr]
    timeline = re.search(r'id="timeline">(.*?)</ol>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "Note by Ana" in timeline
    assert "Ada prefers calls" in timeline

    found = re.search(r'data-note="([^"]+)">(?:(?!data-note=).)*?Ada prefers calls', page, re.S)
    assert found is not None
    note_id = found.group(1)
    clock.advance(minutes=10)
    edited = await desk.post(f"/notes/{note_id}/edit", {"body": "Ada prefers calls after 4pm"})
    assert edited.status_code == 303
    page = await desk.page()
    assert "Ada prefers calls after 4pm" in page
    assert "edited 15 Jun 2026, 12:10 UTC" in page
    deleted = await desk.post(f"/notes/{note_id}/delete", {})
    assert deleted.status_code == 303
    assert "Ada prefers calls" not in await desk.page()


async def test_someone_elses_note_cannot_be_edited_or_deleted(desk: Desk, ctx: AppContext) -> None:
    async with signed_in(ctx, desk.ben) as ben:
        page = await ben.get(f"/suppliers/{desk.supplier_id}")
        assert f'action="/notes/{desk.note_id}/edit"' not in page.text  # not offered
        token = csrf(page.text)
        for path in (f"/notes/{desk.note_id}/edit", f"/notes/{desk.note_id}/delete"):
            response = await ben.post(path, data={"csrf": token, "body": "Ben's"}, headers=HTML)
            assert response.status_code == 403
            assert "Only the note&#39;s author" in response.text
        missing = await ben.post(f"/notes/{uuid.uuid4()}/delete", data={"csrf": token})
        assert missing.status_code == 404
    root = await member(ctx, "Root", role=TeamRole.ADMIN)
    async with signed_in(ctx, root) as admin:
        page = await admin.get(f"/suppliers/{desk.supplier_id}")
        assert f'action="/notes/{desk.note_id}/edit"' not in page.text
        assert f'action="/notes/{desk.note_id}/delete"' in page.text
        response = await admin.post(f"/notes/{desk.note_id}/delete", data={"csrf": csrf(page.text)})
        assert response.status_code == 303
    assert await _count(ctx, SupplierNote) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [("   ", "must not be empty"), ("x" * 10_001, "longer than 10000"), ("a\x00b", "NUL")],
)
async def test_a_refused_note_shows_why_and_keeps_the_text(
    desk: Desk, ctx: AppContext, body: str, reason: str
) -> None:
    response = await desk.post(f"/suppliers/{desk.supplier_id}/notes", {"body": body})
    assert response.status_code == 422
    error = re.search(r'id="note-body-error">([^<]+)<', response.text)
    assert error is not None
    assert reason in error.group(1)
    if "\x00" not in body:
        assert body.strip() in response.text
    refused_edit = await desk.post(f"/notes/{desk.note_id}/edit", {"body": body})
    assert refused_edit.status_code == 422
    assert f'id="note-{desk.note_id}-error"' in refused_edit.text
    assert await _count(ctx, SupplierNote) == 1


async def test_a_task_is_created_from_the_profile_for_the_account_owner(
    desk: Desk, ctx: AppContext
) -> None:
    page = await desk.page()
    owner_select = re.search(r'<select id="task-owner".*?</select>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(rf'value="{desk.ben.id}" selected>Ben \(account owner\)', owner_select)
    data = {"title": "Walk them through journeys", "due_on": "2026-06-17", "priority": "high"}
    made = await desk.post(
        f"/suppliers/{desk.supplier_id}/tasks", {**data, "owner_id": str(desk.ben.id)}
    )
    assert made.status_code == 303
    again = await desk.post(f"/suppliers/{desk.supplier_id}/tasks", {**data, "owner_id": ""})
    assert again.status_code == 303  # a second hand-made task: the owner defaults to me
    async with ctx.db.sessions() as session:
        made_by_hand = list(
            await session.scalars(select(SuccessTask).where(SuccessTask.reason.like("manual_%")))
        )
    assert sorted(t.owner_id for t in made_by_hand) == sorted([desk.ben.id, desk.ana.id])
    page = await desk.page()
    assert "Task “Walk them through journeys” created, due 17 Jun 2026." in page
    assert page.count("Walk them through journeys") >= 2
    assert "Manual · due 17 Jun 2026" in page


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"title": " "}, "title", "must not be empty"),
        ({"due_on": "2026-06-14"}, "due", "before today"),
        ({"due_on": "tomorrow"}, "due", "date"),
        ({"owner_id": str(uuid.uuid4())}, "owner", "no enabled team member"),
        ({"priority": "whenever"}, "priority", "low"),
    ],
)
async def test_a_refused_task_shows_why(
    desk: Desk, ctx: AppContext, fields: dict[str, str], field: str, reason: str
) -> None:
    data = {"title": "Call", "due_on": "2026-06-20", "priority": "medium", **fields}
    response = await desk.post(f"/suppliers/{desk.supplier_id}/tasks", data)
    assert response.status_code == 422
    if field == "priority":
        assert reason in response.text
    else:
        error = re.search(rf'id="task-{field}-error">([^<]+)<', response.text)
        assert error is not None, response.text[-2000:]
        assert reason in error.group(1)
    assert await _count(ctx, SuccessTask) == 1


async def test_a_playbook_is_started_by_hand_once(desk: Desk, ctx: AppContext) -> None:
    woken: list[bool] = []
    ctx.interventions.wake_worker = lambda: woken.append(True)  # type: ignore[method-assign]
    started = await desk.post(
        f"/suppliers/{desk.supplier_id}/playbooks", {"playbook": "at_risk_rescue"}
    )
    assert started.status_code == 303
    assert started.headers["location"].endswith("#outreach")
    page = await desk.page()
    assert "At-risk rescue started by hand" in page
    assert "started by hand by Ana" in page
    again = await desk.post(
        f"/suppliers/{desk.supplier_id}/playbooks", {"playbook": "at_risk_rescue"}
    )
    assert again.status_code == 422
    error = re.search(r'id="playbook-error"[^>]*>([^<]+)<', again.text)
    assert error is not None
    assert "already running for this supplier" in error.group(1)
    unknown = await desk.post(f"/suppliers/{desk.supplier_id}/playbooks", {"playbook": "nope"})
    assert unknown.status_code == 422
    assert await _count(ctx, PlaybookRun) == 1
    assert woken == [True]


async def test_alerts_are_snoozed_shown_and_ended(desk: Desk, ctx: AppContext) -> None:
    snoozed = await desk.post(
        f"/suppliers/{desk.supplier_id}/snooze", {"days": "14", "reason": "Rebuilding their site"}
    )
    assert snoozed.status_code == 303
    page = await desk.page()
    banner = re.search(r'class="panel snooze-banner".*?</section>', page, re.S)
    assert banner is not None
    assert "Alerts snoozed until 29 Jun 2026, 12:00 UTC" in banner.group(0)
    assert "by Ana: Rebuilding their site" in banner.group(0)
    ended = await desk.post(f"/suppliers/{desk.supplier_id}/snooze/end", {})
    assert ended.status_code == 303
    page = await desk.page()
    assert "snooze-banner" not in page
    assert "Snooze ended" in page
    nothing = await desk.post(f"/suppliers/{desk.supplier_id}/snooze/end", {})
    assert nothing.status_code == 303
    assert "No snooze was on." in await desk.page()
    (row,) = await _rows(ctx)
    assert row.ended_at is not None


async def _rows(ctx: AppContext) -> list[AccountSnooze]:
    async with ctx.db.sessions() as session:
        return list(await session.scalars(select(AccountSnooze)))


@pytest.mark.parametrize(
    ("days", "reason", "field"),
    [("0", "Why", "days"), ("91", "Why", "days"), ("soon", "Why", "days"), ("7", "  ", "reason")],
)
async def test_a_refused_snooze_shows_why(
    desk: Desk, ctx: AppContext, days: str, reason: str, field: str
) -> None:
    response = await desk.post(
        f"/suppliers/{desk.supplier_id}/snooze", {"days": days, "reason": reason}
    )
    assert response.status_code == 422
    assert f'id="snooze-{field}-error"' in response.text
    assert await _rows(ctx) == []


async def test_a_message_starts_from_a_template_rendered_for_the_supplier(
    desk: Desk, ctx: AppContext
) -> None:
    page = await desk.page()
    assert 'action="/suppliers/' + desk.supplier_id + '/compose#send-message"' in page
    assert '<option value="at_risk_checkin"' in page
    assert '<option value="one_off"' not in page
    composed = await desk.http.get(
        f"/suppliers/{desk.supplier_id}/compose", params={"template": "at_risk_checkin"}
    )
    assert composed.status_code == 200
    subject = re.search(r'id="m-subject" name="subject" value="([^"]*)"', composed.text)
    body = re.search(r'id="m-body"[^>]*>([^<]*)</textarea>', composed.text)
    assert subject is not None
    assert body is not None
    assert subject.group(1) == "A quick check-in from Ben at WedSync"  # the account owner
    assert body.group(1).startswith("I look after Lantern Hall here at WedSync")
    assert "Hi Ada" not in body.group(1)  # the one-off template greets them itself
    assert "Unsubscribe" not in body.group(1)
    assert "https://app.wedsync.example/help/book-a-call" in body.group(1)  # not tracked
    assert 'data-draft="at_risk_checkin"' in composed.text
    assert re.search(r'<option value="marketing" selected', composed.text)
    unknown = await desk.http.get(
        f"/suppliers/{desk.supplier_id}/compose", params={"template": "one_off"}, headers=HTML
    )
    assert unknown.status_code == 422
    assert "No playbook email template" in unknown.text


async def test_my_tasks_and_the_teams_with_snooze_and_reassign(desk: Desk, ctx: AppContext) -> None:
    overdue = await desk.api.post(
        "/api/v1/tasks",
        json={
            "supplier_id": desk.supplier_id,
            "reason": "chase_invoice",
            "title": "Chase the invoice",
            "due_on": "2026-06-10",
            "owner_id": str(desk.ana.id),
        },
    )
    overdue_id = overdue.json()["task"]["id"]
    board = await desk.page("/tasks")
    for heading in ("Overdue", "Due today", "Upcoming", "Snoozed"):
        assert f">{heading} <span" in board
    group = re.search(r'id="tasks-overdue".*?</section>', board, re.S).group(0)  # type: ignore[union-attr]
    assert overdue_id in group
    assert "Lantern Hall" in group
    upcoming = re.search(r'id="tasks-upcoming".*?</section>', board, re.S).group(0)  # type: ignore[union-attr]
    assert desk.task_id in upcoming

    snoozed = await desk.post(
        f"/tasks/{overdue_id}/snooze", {"days": "3", "next": "/tasks?owner=mine"}
    )
    assert snoozed.status_code == 303
    assert snoozed.headers["location"] == "/tasks?owner=mine"
    board = await desk.page("/tasks")
    assert "“Chase the invoice” snoozed until 18 Jun 2026." in board
    group = re.search(r'id="tasks-snoozed".*?</section>', board, re.S).group(0)  # type: ignore[union-attr]
    assert overdue_id in group
    assert "Snoozed until 18 Jun 2026" in group
    assert "Wake now" in group
    by_day = await desk.post(f"/tasks/{overdue_id}/snooze", {"until": "2026-06-16"})
    assert by_day.status_code == 303
    too_far = await desk.post(f"/tasks/{overdue_id}/snooze", {"until": "2027-01-01"})
    assert too_far.status_code == 422
    assert "at most 90 days" in too_far.text
    bad = await desk.post(f"/tasks/{overdue_id}/snooze", {"days": "0"})
    assert bad.status_code == 422
    woken = await desk.post(f"/tasks/{overdue_id}/snooze", {"wake": "1"})
    assert woken.status_code == 303
    assert overdue_id in re.search(
        r'id="tasks-overdue".*?</section>', await desk.page("/tasks"), re.S
    ).group(0)  # type: ignore[union-attr]

    moved = await desk.post(f"/tasks/{overdue_id}/owner", {"owner_id": str(desk.ben.id)})
    assert moved.status_code == 303
    board = await desk.page("/tasks")
    assert "“Chase the invoice” reassigned to Ben." in board
    assert overdue_id not in board
    team = await desk.page(f"/tasks?owner={desk.ben.id}")
    assert re.findall(r'data-task="([^"]+)"', team) == [overdue_id]
    everyone = await desk.page("/tasks?owner=all")
    assert re.findall(r'data-task="([^"]+)"', everyone) == [overdue_id, desk.task_id]
    viewer = await member(ctx, "Vic", role=TeamRole.VIEWER)
    assert f'<option value="{viewer.id}"' not in everyone  # tasks go to those who can work them
    refused = await desk.post(f"/tasks/{overdue_id}/owner", {"owner_id": str(viewer.id)})
    assert refused.status_code == 422
    assert "viewer" in refused.text
    assert (await desk.http.get("/tasks?owner=nobody")).status_code == 422


async def test_a_task_from_a_playbook_run_links_to_its_playbook(
    desk: Desk, ctx: AppContext, clock: FakeClock
) -> None:
    await desk.post(f"/suppliers/{desk.supplier_id}/playbooks", {"playbook": "at_risk_rescue"})
    async with ctx.db.transaction() as session:
        run = (await session.scalars(select(PlaybookRun))).one()
        task = await session.get(SuccessTask, uuid.UUID(desk.task_id))
        assert task is not None
        task.run_id = run.id
    board = await desk.page("/tasks")
    row = re.search(rf'data-task="{desk.task_id}".*?</tr>', board, re.S).group(0)  # type: ignore[union-attr]
    assert 'href="/playbooks#playbook-at_risk_rescue">At-risk rescue</a>' in row
    assert "run started 15 Jun 2026" in row
    assert f'href="/suppliers/{desk.supplier_id}#outreach"' in row


async def test_my_tasks_shows_the_first_of_each_group_and_counts_them_all(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outreach_pages, "BOARD_SHOWN", 1)
    for n in range(2):
        made = await desk.api.post(
            "/api/v1/tasks",
            json={
                "supplier_id": desk.supplier_id,
                "reason": f"chase_invoice_{n}",
                "title": f"Chase invoice {n}",
                "due_on": "2026-06-10",
                "owner_id": str(desk.ana.id),
            },
        )
        assert made.status_code in (200, 201), made.text
    board = await desk.page("/tasks")
    group = re.search(r'id="tasks-overdue".*?</section>', board, re.S).group(0)  # type: ignore[union-attr]
    assert len(re.findall(r'data-task="', group)) == 1
    assert '<span class="badge status-quiet" data-count>2</span>' in group
    assert "The first 1 of 2 are shown" in group
