"""The SSRF rules on the marketing side: the collector URL and campaign webhook URLs that
name a private, loopback or link-local address (in any spelling) are refused at start
naming their field, and every send is checked again after DNS resolution; the one allow
setting (``WEDSYNC_OUTBOUND_ALLOW_PRIVATE``) lets the local test receivers through."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.integrations.marketing.collector import collector
from tests.integrations.marketing.conftest import (
    WRITE_KEY,
    MakeContext,
    add_suppliers,
    emit,
    make_worker,
    messages,
)
from wedsync_success.config import Settings
from wedsync_success.events.types import SuccessEventType
from wedsync_success.integrations.marketing.campaigns import load_campaigns
from wedsync_success.integrations.marketing.service import MarketingPolicy
from wedsync_success.kit.errors import ConfigError
from wedsync_success.segments.service import SEGMENT_KEY

PRIVATE_HOSTS = [
    "127.0.0.1",  # loopback
    "10.1.2.3",  # private
    "192.168.0.10",
    "169.254.169.254",  # link-local: cloud metadata
    "[::1]",
    "[fe80::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "[::ffff:10.0.0.1]",
    "2130706433",  # 127.0.0.1 in decimal
    "0x7f000001",  # … in hex
    "0x7f.1",
    "0177.0.0.1",  # … in octal
    "127.1",
    "localhost",
    "api.localhost",
]
HOOK = """
version: 1
campaigns:
  - key: stalled
    when: segment_entered
    segment: onboarding_stalled
    cooldown_days: 14
    action:
      webhook: {url: "URL"}
"""


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_a_private_collector_url_is_refused_at_start_naming_the_setting(host: str) -> None:
    settings = Settings(marketing_url=f"http://{host}:8080", secret_key=TEST_SECRET_KEY)
    with pytest.raises(ConfigError) as refused:
        MarketingPolicy.from_settings(settings)
    [detail] = refused.value.details
    assert detail["field"] == "WEDSYNC_MARKETING_URL"
    assert detail["reason"].startswith("refused: ")
    assert refused.value.message.startswith("WEDSYNC_MARKETING_URL: refused: ")
    allowed = MarketingPolicy.from_settings(
        Settings(
            marketing_url=f"http://{host}:8080",
            secret_key=TEST_SECRET_KEY,
            outbound_allow_private=True,
        )
    )
    assert allowed.allow_private
    assert allowed.batch_url == f"http://{host}:8080/v1/batch"


def test_a_public_collector_name_needs_no_dns_at_start() -> None:
    policy = MarketingPolicy.from_settings(
        Settings(marketing_url="https://collector.invalid", secret_key=TEST_SECRET_KEY)
    )
    assert not policy.allow_private  # checked (and refused if it resolves) at each send


def test_the_earlier_name_of_the_allow_setting_is_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not Settings().outbound_allow_private
    monkeypatch.setenv("WEDSYNC_WEBHOOKS_ALLOW_PRIVATE", "1")
    assert Settings().outbound_allow_private
    monkeypatch.delenv("WEDSYNC_WEBHOOKS_ALLOW_PRIVATE")
    monkeypatch.setenv("WEDSYNC_OUTBOUND_ALLOW_PRIVATE", "true")
    assert Settings().outbound_allow_private


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_a_private_campaign_webhook_is_refused_at_start_naming_its_field(
    host: str, tmp_path: Path
) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text(HOOK.replace("URL", f"http://{host}/hooks/stalled"), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_campaigns(path, {}, allow_private=False)
    [detail] = refused.value.details
    assert detail["field"] == "campaigns.0.action.webhook.url"
    assert detail["reason"].startswith("refused: ")
    assert str(path) in refused.value.message
    loaded = load_campaigns(path, {}, allow_private=True)
    assert loaded.targets["stalled"].url == f"http://{host}/hooks/stalled"


async def test_the_collector_is_checked_again_at_each_send(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    ctx = await make_ctx()  # configured while allowed (its receiver is on 127.0.0.1)
    await emit(ctx, await add_suppliers(ctx, 2))
    strict = dataclasses.replace(ctx.marketing.policy, allow_private=False)
    refusing = make_worker(ctx, clock, name="strict", policy=strict)
    allowing = make_worker(ctx, clock, name="allowing")
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await refusing.drain() == 0
            assert c.batches == []  # nothing reached it
            assert c.unauthorised == 0
            rows = await messages(ctx)
            assert {r.state for r in rows} == {"pending"}
            assert {r.last_error for r in rows} == {
                "WEDSYNC_MARKETING_URL: refused: 127.0.0.1 is a loopback address"
            }
            clock.now = max(r.due_at for r in rows)
            assert await allowing.drain() == 4  # the allow setting lets it through
    finally:
        await refusing.aclose()
        await allowing.aclose()
    assert len(c.effects) == 4


async def test_a_campaign_webhook_is_checked_again_at_each_send(
    make_ctx: MakeContext, clock: FakeClock, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/hooks/stalled"
    ctx = await make_ctx(HOOK.replace("URL", url), marketing_url=None)
    [s] = await add_suppliers(ctx, 1)
    await emit(ctx, [s], SuccessEventType.SEGMENT_ENTERED, {SEGMENT_KEY: "onboarding_stalled"})
    strict = dataclasses.replace(ctx.marketing.policy, allow_private=False)
    refusing = make_worker(ctx, clock, name="strict", policy=strict)
    allowing = make_worker(ctx, clock, name="allowing")
    try:
        with collector(WRITE_KEY, port=port) as c:
            assert await refusing.drain() == 0
            assert c.hooks == []
            [row] = await messages(ctx)
            assert row.state == "pending"
            assert row.last_error == (
                "campaigns.0.action.webhook.url: refused: 127.0.0.1 is a loopback address"
            )
            clock.now = row.due_at
            assert await allowing.drain() == 1
    finally:
        await refusing.aclose()
        await allowing.aclose()
    assert len(c.hooks) == 1
