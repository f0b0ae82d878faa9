"""Dashboard pages for outreach: the supplier's outreach and send form, tasks, playbooks."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.helpers import create_supplier
from tests.web.signin import EMAIL, add_user, browser, csrf, log_in
from wedsync_success.access.repository import user_by_email
from wedsync_success.access.team import create_user
from wedsync_success.context import AppContext
from wedsync_success.interventions import service
from wedsync_success.interventions.models import Arm, Intervention, PlaybookRun, RunStatus
from wedsync_success.web import formatting
from wedsync_success.web.rendering import safe_next

KEY = "at_risk_rescue"


@pytest.fixture
async def signed_in(ctx: AppContext) -> Any:
    """A dashboard client signed in as Ana."""
    await add_user(ctx)
    async with browser(ctx) as http:
        response = await log_in(http)
        assert response.status_code == 303
        yield http


async def _user_id(ctx: AppContext, email: str = EMAIL) -> uuid.UUID:
    async with ctx.db.sessions() as session:
        user = await user_by_email(session, email)
    assert user is not None
    return user.id


def _token(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, "no one-time token on the send form"
    return match.group(1)


async def _messages(client: httpx.AsyncClient, supplier_id: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/interventions", params={"supplier_id": supplier_id})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _send_form(http: httpx.AsyncClient, supplier_id: str) -> dict[str, str]:
    page = await http.get(f"/suppliers/{supplier_id}")
    assert page.status_code == 200
    return {"csrf": csrf(page.text), "token": _token(page.text)}


async def test_pages_need_sign_in(ctx: AppContext, client: httpx.AsyncClient) -> None:
    supplier_id = await create_supplier(client)
    async with browser(ctx) as http:
        for path in ("/playbooks", "/tasks", "/tasks?owner=all", f"/suppliers/{supplier_id}"):
            response = await http.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=/")
        for path in (f"/suppliers/{supplier_id}/messages", f"/tasks/{uuid.uuid4()}/status"):
            response = await http.post(path, data={"body": "hi", "status": "done"})
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login")
    assert await _messages(client, supplier_id) == []


async def test_the_nav_links_the_new_pages(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/tasks")
    assert page.status_code == 200
    assert 'href="/playbooks"' in page.text
    assert re.search(r'href="/tasks" aria-current="page"', page.text)


async def test_a_double_submit_queues_one_message(
    ctx: AppContext, client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    supplier_id = await create_supplier(client, business_name="Petal & Stem")
    woken: list[bool] = []
    ctx.interventions.wake_worker = lambda: woken.append(True)  # type: ignore[method-assign]
    form = await _send_form(signed_in, supplier_id)
    data = {
        **form,
        "channel": "in_app",
        "category": "marketing",
        "subject": "Spring bookings",
        "body": "Your enquiry form has been quiet; shall we look at it together?",
    }
    first = await signed_in.post(f"/suppliers/{supplier_id}/messages", data=data)
    assert first.status_code == 303
    assert first.headers["location"] == f"/suppliers/{supplier_id}#outreach"
    after_first = await signed_in.get(f"/suppliers/{supplier_id}")
    assert "In-app message queued" in after_first.text
    second = await signed_in.post(f"/suppliers/{supplier_id}/messages", data=data)
    assert second.status_code == 303
    after_second = await signed_in.get(f"/suppliers/{supplier_id}")
    assert "already sent: the message is queued once" in after_second.text
    assert "queued once" not in (await signed_in.get(f"/suppliers/{supplier_id}")).text

    messages = await _messages(client, supplier_id)
    assert len(messages) == 1
    message = messages[0]
    assert (message["channel"], message["category"], message["status"]) == (
        "in_app",
        "marketing",
        "queued",
    )
    assert message["subject"] == "Spring bookings"
    assert woken == [True, True]
    async with ctx.db.sessions() as session:
        stored = await session.get(Intervention, uuid.UUID(message["id"]))
        assert stored is not None
        assert stored.sent_by == await _user_id(ctx)
    # The outreach list shows it, in plain words.
    assert "Spring bookings" in after_second.text
    assert 'data-status="queued"' in after_second.text
    assert "One-off" in after_second.text
    # A fresh form (a new token) is a new message.
    again = await _send_form(signed_in, supplier_id)
    assert again["token"] != form["token"]
    await signed_in.post(f"/suppliers/{supplier_id}/messages", data={**data, **again})
    assert len(await _messages(client, supplier_id)) == 2


async def test_the_send_form_needs_its_csrf_token(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    supplier_id = await create_supplier(client)
    form = await _send_form(signed_in, supplier_id)
    for bad in ({"csrf": ""}, {"csrf": "forged-token"}):
        response = await signed_in.post(
            f"/suppliers/{supplier_id}/messages",
            data={**form, **bad, "channel": "email", "body": "Hello"},
        )
        assert response.status_code == 403
    assert await _messages(client, supplier_id) == []


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"body": "   "}, "body", "must not be empty"),
        ({"channel": "fax"}, "channel", "must be one of &#39;email&#39;, &#39;in_app&#39; or"),
        ({"category": "gossip"}, "category", "marketing"),
        ({"subject": "x" * 201}, "subject", "longer than 200 characters"),
        ({"body": "nul \x00 inside"}, "body", "NUL character"),
    ],
)
async def test_a_refused_field_shows_its_reason(
    client: httpx.AsyncClient,
    signed_in: httpx.AsyncClient,
    fields: dict[str, str],
    field: str,
    reason: str,
) -> None:
    supplier_id = await create_supplier(client)
    form = await _send_form(signed_in, supplier_id)
    data = {**form, "channel": "email", "subject": "Kept as typed", "body": "Hello", **fields}
    response = await signed_in.post(f"/suppliers/{supplier_id}/messages", data=data)
    assert response.status_code == 422
    match = re.search(rf'id="m-{field}-error">([^<]+)<', response.text)
    assert match, response.text[-3000:]
    assert reason in match.group(1)
    assert 'aria-invalid="true"' in response.text
    if field != "subject":
        assert 'value="Kept as typed"' in response.text
    assert _token(response.text) == form["token"]  # correcting and resending is still one form
    assert await _messages(client, supplier_id) == []


async def test_a_form_without_its_token_is_refused(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    supplier_id = await create_supplier(client)
    form = await _send_form(signed_in, supplier_id)
    response = await signed_in.post(
        f"/suppliers/{supplier_id}/messages",
        data={"csrf": form["csrf"], "token": "short", "channel": "email", "body": "Hello"},
    )
    assert response.status_code == 422
    assert "This form has expired" in response.text
    assert _token(response.text) != "short"
    assert await _messages(client, supplier_id) == []


async def _task(
    client: httpx.AsyncClient, supplier_id: str, reason: str, owner: uuid.UUID, due: str
) -> str:
    response = await client.post(
        "/api/v1/tasks",
        json={
            "supplier_id": supplier_id,
            "reason": reason,
            "title": f"Call them about {reason}",
            "priority": "high",
            "due_on": due,
            "owner_id": str(owner),
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["task"]["id"])


async def test_tasks_page_mine_and_all_done_and_dismiss(
    ctx: AppContext, client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    async with ctx.db.transaction() as session:
        other = await create_user(
            session=session,
            email="ben@wedsync.example",
            name="Ben",
            password="x" * 20,
            now=ctx.clock(),
        )
    ana = await _user_id(ctx)
    supplier_id = await create_supplier(client, business_name="Lantern Hall")
    later = await _task(client, supplier_id, "renewal_call", ana, "2026-07-01")
    sooner = await _task(client, supplier_id, "failed_payment", ana, "2026-06-20")
    bens = await _task(client, supplier_id, "onboarding_help", other.id, "2026-06-16")

    mine = await signed_in.get("/tasks")
    assert mine.status_code == 200
    rows = re.findall(r'data-task="([^"]+)"', mine.text)
    assert rows == [sooner, later]  # soonest due first, only Ana's
    assert "Lantern Hall" in mine.text
    assert f'href="/suppliers/{supplier_id}"' in mine.text
    assert "Failed payment" in mine.text
    assert "High" in mine.text
    everyone = await signed_in.get("/tasks", params={"owner": "all"})
    assert re.findall(r'data-task="([^"]+)"', everyone.text) == [bens, sooner, later]
    assert "Ben" in everyone.text

    token = csrf(mine.text)
    refused = await signed_in.post(f"/tasks/{sooner}/status", data={"status": "done"})
    assert refused.status_code == 403
    done = await signed_in.post(
        f"/tasks/{sooner}/status", data={"status": "done", "csrf": token, "next": "/tasks"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/tasks"
    dismissed = await signed_in.post(
        f"/tasks/{bens}/status",
        data={"status": "dismissed", "csrf": token, "next": "//evil.example/"},
    )
    assert dismissed.headers["location"] == "/"
    notice = await signed_in.get("/tasks")
    assert "“Call them about onboarding_help” marked dismissed." in notice.text
    assert "marked dismissed" not in (await signed_in.get("/tasks")).text  # shown once
    odd = await signed_in.post(f"/tasks/{later}/status", data={"status": "open", "csrf": token})
    assert odd.status_code == 422
    missing = await signed_in.post(
        f"/tasks/{uuid.uuid4()}/status", data={"status": "done", "csrf": token}
    )
    assert missing.status_code == 404

    statuses = {
        status: [
            t["id"]
            for t in (await client.get("/api/v1/tasks", params={"status": status})).json()["items"]
        ]
        for status in ("open", "done", "dismissed")
    }
    assert statuses == {"open": [later], "done": [sooner], "dismissed": [bens]}
    after = await signed_in.get("/tasks", params={"owner": "all"})
    assert re.findall(r'data-task="([^"]+)"', after.text) == [later]
    # The supplier's profile lists its open tasks, with the same buttons.
    profile = await signed_in.get(f"/suppliers/{supplier_id}")
    assert "Call them about renewal_call" in profile.text
    assert f'action="/tasks/{later}/status"' in profile.text


def _runs(supplier_id: uuid.UUID, now: datetime) -> list[PlaybookRun]:
    runs = []
    for i in range(12):
        arm = Arm.CONTROL if i % 4 == 0 else Arm.TREATMENT
        enrolled = now - timedelta(days=100 + i * 5)
        runs.append(
            PlaybookRun(
                id=uuid.uuid4(),
                playbook_key=KEY,
                goal_group="retention",
                supplier_id=supplier_id,
                arm=arm,
                status=RunStatus.COMPLETED,
                trigger={"event": "supplier.risk_level_changed"},
                enrolled_at=enrolled,
                ended_at=enrolled + timedelta(days=7),
                mrr_minor_at_enrolment=4900,
                currency="GBP",
            )
        )
    return runs


async def test_enrolments_by_week_counts_each_arm_in_its_week(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    supplier_id = uuid.UUID(await create_supplier(client))
    monday = datetime(2026, 6, 8, tzinfo=UTC)  # a Monday; the clock says Monday 15 June
    stamps = [
        (monday, Arm.TREATMENT),  # the first instant of the week counts in it
        (monday + timedelta(days=6, hours=23), Arm.CONTROL),
        (monday - timedelta(microseconds=1), Arm.TREATMENT),  # the week before
        (monday + timedelta(days=7), Arm.TREATMENT),  # this week
    ]
    async with ctx.db.transaction() as session:
        for stamp, arm in stamps:
            run = _runs(supplier_id, stamp)[0]
            run.enrolled_at, run.arm = stamp, arm
            session.add(run)
    async with ctx.db.sessions() as session:
        weekly = await service.enrolments_by_week(
            session=session, playbook_key=KEY, as_of=ctx.clock().date(), weeks=3
        )
        other = await service.enrolments_by_week(
            session=session, playbook_key="referral_ask", as_of=ctx.clock().date(), weeks=3
        )
    assert [str(d) for d in weekly.week_starts] == ["2026-06-01", "2026-06-08", "2026-06-15"]
    assert weekly.treatment == [1, 1, 1]
    assert weekly.control == [0, 1, 0]
    assert other.treatment == other.control == [0, 0, 0]


async def test_playbooks_page_shows_each_playbook_and_its_results(
    ctx: AppContext, client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    supplier_id = uuid.UUID(await create_supplier(client))
    async with ctx.db.transaction() as session:
        session.add_all(_runs(supplier_id, ctx.clock()))
    page = await signed_in.get("/playbooks")
    assert page.status_code == 200
    for playbook in ctx.interventions.catalog.playbooks:
        assert f'data-playbook="{playbook.key}"' in page.text
        assert playbook.name in page.text
    rescue = page.text[page.text.index(f'data-playbook="{KEY}"') :]
    rescue = rescue[: rescue.index("</article>")]
    assert "9 treated · 3 control" in rescue
    assert re.search(r'data-stage="Enrolled".*?aria-valuenow="9"', rescue, re.S)
    # Three control runs: an interval is drawn, and said plainly to be too wide to read.
    assert rescue.count("data-too-small") == 3
    assert rescue.count('class="estimate"') == 3
    data = json.loads(
        re.search(
            r'<script type="application/json" id="weekly-at_risk_rescue">(.*?)</script>',
            rescue,
            re.S,
        ).group(1)  # type: ignore[union-attr]
    )
    assert len(data["weeks"]) == 26
    assert sum(data["treatment"]) + sum(data["control"]) == 12
    assert sum(data["control"]) == 3
    # A playbook without runs says so instead of drawing empty charts.
    assert "No runs yet" in page.text


async def test_an_empty_control_arm_is_said_plainly(
    ctx: AppContext, client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    supplier_id = uuid.UUID(await create_supplier(client))
    runs = [r for r in _runs(supplier_id, ctx.clock()) if r.arm == Arm.TREATMENT]
    async with ctx.db.transaction() as session:
        session.add_all(runs)
    page = await signed_in.get("/playbooks")
    assert "No interval: no control runs observed." in page.text
    assert "no estimate" in page.text


def test_safe_next_stays_on_the_site() -> None:
    assert safe_next("/tasks?owner=all") == "/tasks?owner=all"
    for target in ("//evil.example", "/\\evil.example", "https://evil.example/", "", None):
        assert safe_next(target) == "/"


def test_money_puts_the_minus_before_the_symbol() -> None:
    assert formatting.money(-1274, "AUD") == "−A$12.74"
    assert formatting.money(-3500, "GBP") == "−£35"
    assert formatting.money(4900, "GBP") == "£49"
    assert formatting.runs(1) == "1 run"
    assert formatting.runs(1200) == "1,200 runs"


def _horizon(days: int, diff: float | None, low: float | None, high: float | None, n: int) -> Any:
    reason = None if diff is not None else "no control runs observed"
    return SimpleNamespace(
        days=days,
        treated_observed=n,
        control_observed=n if diff is not None else 0,
        uplift=SimpleNamespace(difference=diff, low=low, high=high, reason=reason),
    )


def test_the_interval_chart_is_symmetric_around_zero() -> None:
    chart = formatting.interval_chart(
        [_horizon(30, 0.1, -0.02, 0.22, 50), _horizon(60, None, None, None, 50)], width=360
    )
    assert chart.bound == pytest.approx(0.25)  # 0.22 rounded up to the next 5 points
    first, second = chart.marks
    assert first.low is not None
    assert first.x is not None
    assert first.high is not None
    assert first.low < chart.zero < first.x < first.high
    assert first.x - chart.zero == pytest.approx((chart.width - 86) * 0.1 / 0.5)
    assert not first.small
    assert first.text == "+10.0 pts (-2.0 pts to +22.0 pts)"
    assert second.x is None
    assert second.text == "No interval: no control runs observed"
    assert second.y > first.y
    small = formatting.interval_chart([_horizon(90, 0.0, -0.3, 0.3, 9)])
    assert small.marks[0].small
