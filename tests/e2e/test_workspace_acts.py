"""The success manager's workspace in Chromium, on a supplier made for this test: a note on
the timeline, a task created from the profile then completed and snoozed on My tasks, a
message started from a template, a playbook started by hand, the account's alerts snoozed;
no console or CSP errors on the way."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.e2e.test_playbooks_page import _sign_in
from tests.factories import supplier


async def _new_supplier(server: LiveServer) -> str:
    """A current customer with one user seen an hour ago, through the API."""
    body = supplier(
        business_name=f"Juniper & Fig Florals {uuid.uuid4().hex[:4]}",
        signed_up_at=(datetime.now(UTC) - timedelta(days=60)).isoformat(),
        users=[{"id": str(uuid.uuid4()), "email": "ivy@juniperfig.example", "name": "Ivy Moss"}],
    )
    seen = datetime.now(UTC) - timedelta(hours=1)
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as api:
        made = await api.post("/api/v1/suppliers", json={"suppliers": [body]})
        assert made.status_code == 200, made.text
        login = {
            "event_id": f"e2e-{uuid.uuid4()}",
            "supplier_id": body["id"],
            "user_id": body["users"][0]["id"],
            "type": "login",
            "occurred_at": seen.isoformat(),
            "properties": {},
        }
        stored = await api.post("/api/v1/events", json={"events": [login]})
        assert stored.status_code == 200, stored.text
    return str(body["id"])


async def test_acting_on_an_account(page: Page, live_server: LiveServer) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        refused_form = "status of 422" in message.text  # the second start, shown with why
        if (message.type == "error" and not refused_form) or "Content Security" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    await page.add_init_script(RECORD_VIOLATIONS)
    supplier_id = await _new_supplier(live_server)
    profile = f"/suppliers/{supplier_id}"
    await _sign_in(page, live_server, profile)
    contact = page.locator("#contacts tbody tr", has_text="Ivy Moss")
    await expect(contact).to_contain_text("ivy@juniperfig.example")
    await expect(contact.locator("[data-last-seen]")).not_to_have_text("never")

    # A note, shown in the notes and on the timeline.
    notes = page.locator("#notes")
    await notes.get_by_label("Add a note").fill("Ivy is at a wedding fair until Friday.")
    await notes.get_by_role("button", name="Add note").click()
    await expect(page.locator("#notice")).to_contain_text("Note added")
    await expect(notes.locator(".note-body")).to_have_text("Ivy is at a wedding fair until Friday.")
    entry = page.locator("#timeline .timeline-item.note")
    await expect(entry).to_contain_text("Note by E2E Tester")
    await expect(entry).to_contain_text("wedding fair")
    await shot(page, "workspace-note-on-timeline")

    # Two tasks from the profile: one due today, one tomorrow (the default), both mine.
    act = page.locator("#create-task")
    today = datetime.now(UTC).date().isoformat()
    await act.get_by_label("Title").fill("Call Ivy about spring")
    await act.get_by_label("Due").fill(today)
    await act.get_by_label("Priority").select_option("high")
    await act.get_by_role("button", name="Create task").click()
    await expect(page.locator("#notice")).to_contain_text("Task “Call Ivy about spring” created")
    await act.get_by_label("Title").fill("Send Ivy the journeys guide")
    await act.get_by_role("button", name="Create task").click()
    open_tasks = page.locator("#supplier-tasks")
    await expect(open_tasks).to_contain_text("Call Ivy about spring")
    await expect(open_tasks).to_contain_text("Send Ivy the journeys guide")

    # A playbook started by hand.
    start = page.locator("#start-playbook")
    await start.get_by_label("Playbook").select_option("at_risk_rescue")
    await start.get_by_role("button", name="Start playbook").click()
    await expect(page.locator("#notice")).to_contain_text("At-risk rescue started by hand")
    await expect(page.locator("#act")).to_contain_text("started by hand by E2E Tester")
    await start.get_by_role("button", name="Start playbook").click()  # once is enough
    await expect(page.locator("#playbook-error")).to_contain_text("already running")

    # A message from a template, rendered for this supplier, then sent.
    send = page.locator("#send-message")
    await send.get_by_label("Start from a template").select_option("at_risk_checkin")
    await send.get_by_role("button", name="Use template").click()
    await expect(send.locator("[data-draft]")).to_be_visible()
    await expect(send.get_by_label("Subject (email) or title (in-app)")).to_have_value(
        re.compile("check-in")
    )
    await expect(send.get_by_label("Message")).to_have_value(re.compile("Juniper & Fig Florals"))
    await shot(page, "workspace-message-from-template")
    await send.get_by_role("button", name="Send message").click()
    await expect(page.locator("#notice")).to_contain_text("Email message queued")

    # The account's alerts snoozed, with a reason, shown at the top.
    snooze = page.locator("#snooze-alerts")
    await snooze.get_by_label("For how many days").select_option("14")
    await snooze.get_by_label("Why").fill("Rebuilding their website")
    await snooze.get_by_role("button", name="Snooze alerts").click()
    banner = page.locator(".snooze-banner")
    await expect(banner).to_contain_text("Alerts snoozed until")
    await expect(banner).to_contain_text("by E2E Tester: Rebuilding their website")
    await shot(page, "workspace-alerts-snoozed")

    # My tasks: complete one, snooze the other.
    await page.get_by_role("link", name="Tasks").click()
    today_row = page.locator("#tasks-due-today tr[data-task]", has_text="Call Ivy about spring")
    upcoming_row = page.locator(
        "#tasks-upcoming tr[data-task]", has_text="Send Ivy the journeys guide"
    )
    await expect(today_row).to_contain_text("Juniper & Fig Florals")
    await expect(upcoming_row).to_have_count(1)
    await upcoming_row.get_by_role("button", name="Done").click()
    await expect(page.locator("#notice")).to_contain_text("marked done")
    await expect(upcoming_row).to_have_count(0)
    await today_row.locator("summary").click()
    await today_row.get_by_label("Snooze for").select_option("3")
    await today_row.get_by_role("button", name="Snooze: Call Ivy about spring").click()
    await expect(page.locator("#notice")).to_contain_text("“Call Ivy about spring” snoozed until")
    snoozed = page.locator("#tasks-snoozed tr[data-task]", has_text="Call Ivy about spring")
    await expect(snoozed).to_contain_text("Snoozed until")
    await expect(page.locator("#tasks-due-today tr", has_text="Call Ivy")).to_have_count(0)
    await shot(page, "workspace-my-tasks")

    # Ending the snooze from the profile.
    await page.goto(f"{live_server.url}{profile}")
    await page.get_by_role("button", name="End snooze now").click()
    await expect(page.locator("#notice")).to_contain_text("Snooze ended")
    await expect(page.locator(".snooze-banner")).to_have_count(0)

    assert await page.evaluate("window.__csp") == []
    assert problems == []
