"""Working tasks: snooze (for N days or until a day) and reassign, over the API with bad input
refused naming the field; the board of one member's tasks; concurrent changes of one task
ending in one consistent state; hand-made tasks, as many as wanted per supplier."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.helpers import create_supplier
from tests.workspace.helpers import member
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.context import AppContext
from wedsync_success.interventions import service
from wedsync_success.interventions.models import SuccessTask
from wedsync_success.interventions.schemas import ManualTaskIn
from wedsync_success.kit.errors import ValidationFailed

TODAY = date(2026, 6, 15)  # the test clock's day


async def _task(
    client: httpx.AsyncClient, supplier_id: str, owner: TeamUser, due: date, reason: str = "call"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/tasks",
        json={
            "supplier_id": supplier_id,
            "reason": reason,
            "title": f"Task {reason}",
            "due_on": due.isoformat(),
            "owner_id": str(owner.id),
        },
    )
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()["task"]
    return task


async def test_a_task_is_snoozed_for_days_or_until_a_day_and_woken(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    ana = await member(ctx, "Ana")
    task = await _task(client, await create_supplier(client), ana, TODAY)
    assert task["snoozed_until"] is None
    url = f"/api/v1/tasks/{task['id']}"
    by_days = await client.patch(url, json={"snooze_days": 3})
    assert by_days.status_code == 200, by_days.text
    assert by_days.json()["snoozed_until"] == "2026-06-18"
    assert by_days.json()["due_on"] == TODAY.isoformat()  # the due day is kept
    by_day = await client.patch(url, json={"snoozed_until": "2026-09-13"})  # 90 days ahead
    assert by_day.json()["snoozed_until"] == "2026-09-13"
    woken = await client.patch(url, json={"snoozed_until": None})
    assert woken.json()["snoozed_until"] is None
    closed = await client.patch(url, json={"snooze_days": 2, "status": "done"})
    assert closed.status_code == 422  # a task closed by the same patch is not snoozed
    done = await client.patch(url, json={"status": "done"})
    assert done.json()["snoozed_until"] is None
    late = await client.patch(url, json={"snooze_days": 2})
    assert late.status_code == 422
    assert late.json()["error"]["details"][0] == {
        "field": "snooze_days",
        "reason": "the task is closed",
    }


async def test_snooze_and_reassign_refusals_name_the_field(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    ana = await member(ctx, "Ana")
    await member(ctx, "Vic", role=TeamRole.VIEWER)
    gone = await member(ctx, "Gone", disabled=True)
    viewer = await member(ctx, "Val", role=TeamRole.VIEWER)
    task = await _task(client, await create_supplier(client), ana, TODAY)
    url = f"/api/v1/tasks/{task['id']}"
    for body, field in [
        ({"snooze_days": 0}, "snooze_days"),
        ({"snooze_days": 91}, "snooze_days"),
        ({"snooze_days": "soon"}, "snooze_days"),
        ({"snoozed_until": TODAY.isoformat()}, "snoozed_until"),  # not after today
        ({"snoozed_until": "2026-09-14"}, "snoozed_until"),  # 91 days ahead
        ({"snoozed_until": "15/06/2026"}, "snoozed_until"),
        ({"snooze_days": 2, "snoozed_until": "2026-06-20"}, "snoozed_until"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id"),
        ({"owner_id": str(gone.id)}, "owner_id"),
        ({"owner_id": str(viewer.id)}, "owner_id"),
        ({"owner_id": "ana"}, "owner_id"),
    ]:
        response = await client.patch(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["details"][0]["field"] == field, body
    after = (await client.get("/api/v1/tasks")).json()["items"][0]
    assert (after["owner_id"], after["snoozed_until"]) == (str(ana.id), None)


async def test_a_task_is_reassigned_to_an_enabled_manager(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    ana, ben = await member(ctx, "Ana"), await member(ctx, "Ben", role=TeamRole.ADMIN)
    task = await _task(client, await create_supplier(client), ana, TODAY)
    moved = await client.patch(f"/api/v1/tasks/{task['id']}", json={"owner_id": str(ben.id)})
    assert moved.json()["owner_id"] == str(ben.id)
    assert [
        t["id"]
        for t in (await client.get("/api/v1/tasks", params={"owner_id": str(ben.id)})).json()[
            "items"
        ]
    ] == [task["id"]]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["snooze_days", "snoozed_until", "owner_id", "status", "x"]),
        st.one_of(
            st.none(),
            st.integers(min_value=-10, max_value=400),
            st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 1, 1)).map(str),
            st.text(max_size=12),
            st.uuids().map(str),
            st.booleans(),
        ),
        max_size=3,
    )
)
async def test_any_snooze_or_reassign_is_applied_or_refused_never_a_500(
    client: httpx.AsyncClient, ana: TeamUser, open_task: str, body: dict[str, Any]
) -> None:
    response = await client.patch(f"/api/v1/tasks/{open_task}", json=body)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        out = response.json()
        if out["snoozed_until"] is not None:
            until = date.fromisoformat(out["snoozed_until"])
            assert out["status"] == "open"
            assert TODAY < until <= TODAY + timedelta(days=90)
        assert out["owner_id"] == str(ana.id)  # the only member who can take it
        if out["status"] != "open":  # put it back for the next example
            await client.patch(f"/api/v1/tasks/{open_task}", json={"status": "open"})
    else:
        assert response.json()["error"]["details"][0]["field"] in body


@pytest.fixture
async def ana(ctx: AppContext) -> TeamUser:
    return await member(ctx, "Ana")


@pytest.fixture
async def open_task(client: httpx.AsyncClient, ana: TeamUser) -> str:
    return str((await _task(client, await create_supplier(client), ana, TODAY))["id"])


async def test_two_changes_of_one_task_at_once_end_in_one_of_them(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    ana, ben = await member(ctx, "Ana"), await member(ctx, "Ben")
    task = await _task(client, await create_supplier(client), ana, TODAY)
    url = f"/api/v1/tasks/{task['id']}"
    changes = [
        {"owner_id": str(ben.id), "snooze_days": 2},
        {"owner_id": str(ana.id), "snooze_days": 9},
    ] * 3
    answers = await asyncio.gather(*(client.patch(url, json=c) for c in changes))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    async with ctx.db.sessions() as session:
        (stored,) = (await session.scalars(select(SuccessTask))).all()
    pair = (
        str(stored.owner_id),
        (stored.snoozed_until - TODAY).days if stored.snoozed_until else None,
    )
    assert pair in {(str(ben.id), 2), (str(ana.id), 9)}  # never Ben's owner with Ana's snooze
    for change, answer in zip(changes, answers, strict=True):  # each saw its own change whole
        assert answer.json()["owner_id"] == change["owner_id"]


async def test_my_tasks_board_groups_overdue_today_upcoming_and_snoozed(
    ctx: AppContext, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ana, ben = await member(ctx, "Ana"), await member(ctx, "Ben")
    supplier_id = await create_supplier(client)
    overdue = await _task(client, supplier_id, ana, TODAY - timedelta(days=2), "ra")
    today = await _task(client, supplier_id, ana, TODAY, "rb")
    upcoming = await _task(client, supplier_id, ana, TODAY + timedelta(days=3), "rc")
    snoozed = await _task(client, supplier_id, ana, TODAY - timedelta(days=5), "rd")
    back_today = await _task(client, supplier_id, ana, TODAY - timedelta(days=9), "re")
    await _task(client, supplier_id, ben, TODAY, "rf")  # Ben's
    await client.patch(f"/api/v1/tasks/{snoozed['id']}", json={"snooze_days": 4})
    clock.advance(days=-1)
    await client.patch(f"/api/v1/tasks/{back_today['id']}", json={"snooze_days": 1})
    clock.advance(days=1)  # its snooze ends today: due today, not nine days overdue

    async with ctx.db.sessions() as session:
        board = await service.task_board(session=session, owner_id=ana.id, today=TODAY, limit=50)
    assert [t.id for t in board.overdue.items] == [uuid.UUID(overdue["id"])]
    assert {t.id for t in board.due_today.items} == {
        uuid.UUID(today["id"]),
        uuid.UUID(back_today["id"]),
    }
    assert [t.id for t in board.upcoming.items] == [uuid.UUID(upcoming["id"])]
    assert [t.id for t in board.snoozed.items] == [uuid.UUID(snoozed["id"])]
    assert (board.overdue.total, board.due_today.total, board.snoozed.total) == (1, 2, 1)
    async with ctx.db.sessions() as session:
        capped = await service.task_board(session=session, owner_id=ana.id, today=TODAY, limit=1)
    assert (len(capped.due_today.items), capped.due_today.total) == (1, 2)


async def test_hand_made_tasks_can_be_many_per_supplier_and_are_due_from_today(
    ctx: AppContext, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ana = await member(ctx, "Ana")
    supplier_id = uuid.UUID(await create_supplier(client))
    made = []
    for title in ("Call Ada", "Send the journeys guide"):
        async with ctx.db.transaction() as session:
            made.append(
                await service.create_manual_task(
                    session=session,
                    supplier_id=supplier_id,
                    body=ManualTaskIn(title=title, due_on=TODAY, owner_id=ana.id, priority="high"),
                    now=clock.now,
                )
            )
    assert len({t.reason for t in made}) == 2
    assert all(t.reason.startswith("manual_") for t in made)
    assert [t.owner_id for t in made] == [ana.id, ana.id]
    with pytest.raises(ValidationFailed) as past:
        async with ctx.db.transaction() as session:
            await service.create_manual_task(
                session=session,
                supplier_id=supplier_id,
                body=ManualTaskIn(title="Late", due_on=TODAY - timedelta(days=1), owner_id=ana.id),
                now=clock.now,
            )
    assert past.value.details[0]["field"] == "due_on"
