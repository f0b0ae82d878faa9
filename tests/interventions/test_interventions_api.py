"""The interventions API: playbooks and their results, the outreach log, one-off messages
(exactly once per Idempotency-Key), the team's tasks; scopes and refusals naming the field."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import FakeClock
from tests.factories import supplier
from tests.helpers import create_supplier
from wedsync_success.access.team import create_user
from wedsync_success.context import AppContext
from wedsync_success.interventions.models import Intervention, StepJob, SuccessTask


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_playbooks_are_listed_with_their_steps(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/playbooks")
    assert response.status_code == 200
    rescue = next(p for p in response.json() if p["key"] == "at_risk_rescue")
    assert rescue["trigger"] == "supplier.risk_level_changed"
    assert [s["kind"] for s in rescue["steps"]] == [
        "email",
        "wait",
        "in_app",
        "wait",
        "sms",
        "task",
    ]
    assert (rescue["active_runs"], rescue["enrolled"]) == (0, 0)


async def test_results_of_an_unknown_playbook_are_404_and_of_a_new_one_are_empty(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/v1/playbooks/no_such_playbook/results")).status_code == 404
    assert (await client.get("/api/v1/playbooks/Bad%00Key/results")).status_code == 422
    body = (await client.get("/api/v1/playbooks/at_risk_rescue/results")).json()
    assert (body["enrolled"], body["treated"], body["control"]) == (0, 0, 0)
    assert [h["days"] for h in body["horizons"]] == [30, 60, 90]
    assert body["horizons"][0]["uplift"]["difference"] is None
    assert body["horizons"][0]["uplift"]["reason"]


async def test_a_one_off_message_is_queued_once_per_idempotency_key(
    client: httpx.AsyncClient, ctx: AppContext, api_keys: dict[str, str]
) -> None:
    supplier_id = await create_supplier(client)
    body = {"channel": "email", "subject": "Your spring bookings", "body": "Hello!\n\nHow are you?"}
    first = await client.post(
        f"/api/v1/suppliers/{supplier_id}/messages",
        json=body,
        headers={"Idempotency-Key": "manager-42", **_as(api_keys["act"])},
    )
    again = await client.post(
        f"/api/v1/suppliers/{supplier_id}/messages",
        json=body,
        headers={"Idempotency-Key": "manager-42", **_as(api_keys["act"])},
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["intervention"]["id"] == again.json()["intervention"]["id"]
    assert first.json()["intervention"]["status"] == "queued"
    assert again.json()["created"] is False
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Intervention)) == 1
        assert await session.scalar(select(func.count()).select_from(StepJob)) == 1
    listed = (await client.get(f"/api/v1/interventions?supplier_id={supplier_id}")).json()
    assert [i["template"] for i in listed["items"]] == ["one_off"]


async def test_concurrent_retries_of_one_message_queue_it_once(
    client: httpx.AsyncClient, ctx: AppContext, api_keys: dict[str, str]
) -> None:
    supplier_id = await create_supplier(client)
    body = {"channel": "in_app", "subject": "Hi", "body": "A tip for your enquiry form"}
    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/suppliers/{supplier_id}/messages",
                json=body,
                headers={"Idempotency-Key": "double-click", **_as(api_keys["act"])},
            )
            for _ in range(6)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [202]
    async with ctx.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Intervention)) == 1


async def test_message_refusals_name_the_field(
    client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    supplier_id = await create_supplier(client)
    url = f"/api/v1/suppliers/{supplier_id}/messages"
    cases = [
        ({"channel": "fax", "body": "x"}, "channel"),
        ({"channel": "email", "body": ""}, "body"),
        ({"channel": "email", "body": "a\u0000b"}, "body"),
        (
            {"channel": "email", "body": "x", "supplier_user_id": str(uuid.uuid4())},
            "supplier_user_id",
        ),
        ({"channel": "email", "body": "x", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = await client.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], response.text
    unknown = await client.post(
        f"/api/v1/suppliers/{uuid.uuid4()}/messages", json=cases[0][0] | {"channel": "email"}
    )
    assert unknown.status_code == 404
    read_only = await client.post(
        url, json={"channel": "email", "body": "x"}, headers=_as(api_keys["read"])
    )
    assert read_only.status_code == 403
    bad_key = await client.post(
        url, json={"channel": "email", "body": "x"}, headers={"Idempotency-Key": "has space"}
    )
    assert bad_key.status_code == 422


async def test_tasks_open_once_per_reason_and_close(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    supplier_id = await create_supplier(client)
    async with ctx.db.transaction() as session:
        owner = await create_user(
            session=session,
            email="priya@wedsync.example",
            name="Priya",
            password="a long enough password",
            now=clock.now,
        )
    body = {
        "supplier_id": supplier_id,
        "reason": "renewal_call",
        "title": "Call about renewal",
        "due_on": "2026-06-20",
    }
    first = await client.post("/api/v1/tasks", json=body)
    second = await client.post(
        "/api/v1/tasks", json=body | {"priority": "urgent", "due_on": "2026-06-18"}
    )
    assert first.json()["created"] is True
    assert second.json()["created"] is False
    task = second.json()["task"]
    assert (task["priority"], task["due_on"], task["times_triggered"]) == (
        "urgent",
        "2026-06-18",
        2,
    )
    assert task["owner_id"] == str(owner.id)  # the only team member: round-robin picks them
    listed = (await client.get("/api/v1/tasks")).json()["items"]
    assert [t["id"] for t in listed] == [task["id"]]
    done = await client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
    assert done.json()["status"] == "done"
    assert done.json()["closed_at"] is not None
    assert (await client.get("/api/v1/tasks")).json()["items"] == []
    reopened = await client.post("/api/v1/tasks", json=body)
    assert reopened.json()["created"] is True  # the old one is closed
    back = await client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "open"})
    assert back.status_code == 422
    assert back.json()["error"]["details"][0]["field"] == "status"


async def test_task_refusals_name_the_field(client: httpx.AsyncClient) -> None:
    supplier_id = await create_supplier(client)
    base = {"supplier_id": supplier_id, "reason": "call", "title": "Call", "due_on": "2026-06-20"}
    for change, field in [
        ({"owner_id": str(uuid.uuid4())}, "owner_id"),
        ({"supplier_id": str(uuid.uuid4())}, "supplier_id"),
        ({"due_on": "1999-12-31"}, "due_on"),
        ({"reason": "Not A Key"}, "reason"),
        ({"priority": "whenever"}, "priority"),
    ]:
        response = await client.post("/api/v1/tasks", json=base | change)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == field
    assert (
        await client.patch(f"/api/v1/tasks/{uuid.uuid4()}", json={"status": "done"})
    ).status_code == 404


async def test_two_triggers_of_one_task_at_once_leave_one_open_task(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    supplier_id = await create_supplier(client)
    body = {"supplier_id": supplier_id, "reason": "call", "title": "Call", "due_on": "2026-06-20"}
    answers = await asyncio.gather(*(client.post("/api/v1/tasks", json=body) for _ in range(8)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sum(a.json()["created"] for a in answers) == 1
    async with ctx.db.sessions() as session:
        (task,) = (await session.scalars(select(SuccessTask))).all()
    assert task.times_triggered == 8


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["supplier_id", "reason", "title", "detail", "priority", "due_on", "owner_id", "x"]
        ),
        st.one_of(
            st.none(),
            st.text(max_size=30),
            st.integers(),
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=7,
    )
)
@pytest.mark.parametrize("route", ["/api/v1/tasks"])
async def test_any_task_body_is_stored_or_refused_never_a_500(
    client: httpx.AsyncClient, route: str, body: dict[str, object]
) -> None:
    response = await client.post(route, json=body)
    assert response.status_code in (200, 422), response.text


async def test_a_task_goes_to_the_account_owner_when_the_supplier_has_one(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    async with ctx.db.transaction() as session:
        first = await create_user(
            session=session,
            email="a@wedsync.example",
            name="A",
            password="a long enough password",
            now=clock.now,
        )
        owner = await create_user(
            session=session,
            email="b@wedsync.example",
            name="B",
            password="a long enough password",
            now=clock.now,
        )
    supplier_id = await create_supplier(client, account_owner_id=str(owner.id))
    body = {"supplier_id": supplier_id, "reason": "call", "title": "Call", "due_on": "2026-06-20"}
    task = (await client.post("/api/v1/tasks", json=body)).json()["task"]
    assert task["owner_id"] == str(owner.id)
    assert task["owner_id"] != str(first.id)
    unknown_owner = await client.post(
        "/api/v1/suppliers", json={"suppliers": [supplier(account_owner_id=str(uuid.uuid4()))]}
    )
    assert unknown_owner.json()["errors"][0]["field"] == "account_owner_id"
