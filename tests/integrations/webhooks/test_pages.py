"""The dashboard's webhooks page: admins only; add, disable, enable, replay, resend."""

from __future__ import annotations

import re

from tests.conftest import FakeClock
from tests.integrations.webhooks.conftest import emit
from tests.integrations.webhooks.receiver import receiver
from tests.web.signin import add_user, browser, csrf, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.context import AppContext
from wedsync_success.integrations.webhooks.worker import WebhookWorker


async def test_managers_and_viewers_get_403(ctx: AppContext) -> None:
    await add_user(ctx, role=TeamRole.MANAGER)
    async with browser(ctx) as page:
        await log_in(page)
        home = await page.get("/")
        assert 'href="/webhooks"' not in home.text
        assert (await page.get("/webhooks")).status_code == 403
        token = csrf(home.text)
        refused = await page.post("/webhooks", data={"url": "http://x.example/", "csrf": token})
        assert refused.status_code == 403


async def test_an_admin_adds_disables_enables_and_replays(
    ctx: AppContext, clock: FakeClock, worker: WebhookWorker
) -> None:
    await add_user(ctx, role=TeamRole.ADMIN)
    with receiver(clock) as rx:
        async with browser(ctx) as page:
            await log_in(page)
            listing = await page.get("/webhooks")
            assert listing.status_code == 200
            assert "No endpoints yet" in listing.text
            bad = await page.post(
                "/webhooks", data={"url": "ftp://nope/", "csrf": csrf(listing.text)}
            )
            assert bad.status_code == 422
            assert "url: must be an http or https URL" in bad.text
            added = await page.post(
                "/webhooks",
                data={
                    "url": rx.url,
                    "description": "CRM",
                    "event_type": ["supplier.milestone_achieved"],
                    "csrf": csrf(listing.text),
                },
            )
            assert added.status_code == 200
            secret = re.search(r"<code>(whsec_[^<]+)</code>", added.text)
            assert secret is not None
            rx.secrets.append(secret.group(1))
            endpoint_id = re.search(r'action="/webhooks/([0-9a-f-]{36})"', added.text)
            assert endpoint_id is not None
            form = f"/webhooks/{endpoint_id.group(1)}"
            token = csrf(added.text)
            disabled = await page.post(form, data={"action": "disable", "csrf": token})
            assert disabled.status_code == 303
            await emit(ctx, 2)
            await worker.drain()
            assert rx.requests == []
            shown = await page.get(disabled.headers["location"])
            assert "held" in shown.text
            assert "disabled by an admin" in shown.text
            await page.post(form, data={"action": "enable", "csrf": token})
            replayed = await page.post(form, data={"action": "replay", "csrf": token})
            assert replayed.status_code == 303
            assert "2 deliveries queued again" in (await page.get("/webhooks")).text
            await worker.drain()
            assert len(rx.effects) == 2
            log = await page.get(f"/webhooks?endpoint={endpoint_id.group(1)}")
            delivery = re.search(r'action="/webhooks/deliveries/(\d+)/resend"', log.text)
            assert delivery is not None
            detail = await page.get(f"/webhooks/deliveries/{delivery.group(1)}")
            assert detail.status_code == 200
            assert "Zoë" in detail.text
            assert "<td>1</td>" in detail.text  # one attempt row, numbered
            missing = await page.get("/webhooks/deliveries/999999")
            assert missing.status_code == 404
            resent = await page.post(
                f"/webhooks/deliveries/{delivery.group(1)}/resend", data={"csrf": token}
            )
            assert resent.status_code == 303
            await worker.drain()
    assert len(rx.requests) == 3
    assert len(rx.effects) == 2
