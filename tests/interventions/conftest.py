"""Fixtures of the intervention tests: nothing they send may leave this machine; a whole
interventions context on real servers; a supplier with one user, and a sent email to them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.factories import supplier as supplier_body
from tests.helpers import create_supplier
from tests.interventions.sms_provider import ProviderState, sms_provider
from tests.interventions.smtp_server import Collector, smtp_server
from wedsync_success.config import DEFAULTS_DIR, Settings
from wedsync_success.context import AppContext, build_context
from wedsync_success.db.registry import metadata
from wedsync_success.events.models import OutboxEvent
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions.links import TrackingLinks
from wedsync_success.interventions.models import DeliveryStatus, Intervention
from wedsync_success.suppliers.models import SupplierUser
from wedsync_success.suppliers.service import upsert_batch


class OffMachine(AssertionError):
    """A test tried to reach a host other than the loopback."""


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every httpx request from these tests must go to 127.0.0.1 (or another loopback)."""
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def guarded(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        if not _loopback(request.url.host):
            raise OffMachine(f"refused to send a request to {request.url.host}")
        return await real(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", guarded)


# --- a whole interventions context: real SMTP server, real SMS provider, test playbooks ------


SMS_SID, SMS_TOKEN = "AC" + "1" * 32, "token-for-tests"


def playbooks_config(path: Path, **changes: Any) -> Path:
    """The shipped playbooks with no holdout and no quiet hours (tests turn them back on),
    plus ``changes`` to the file's top level."""
    data = yaml.safe_load((DEFAULTS_DIR / "playbooks.yaml").read_text(encoding="utf-8"))
    for playbook in data["playbooks"]:
        playbook["holdout"] = 0.0
    data["quiet_hours"]["channels"] = []
    data.update(changes)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def mailbox() -> Iterator[tuple[Collector, Controller]]:
    handler = Collector()
    controller = smtp_server(handler)
    try:
        yield handler, controller
    finally:
        controller.stop()


@pytest.fixture
def sms() -> Iterator[tuple[str, ProviderState]]:
    with sms_provider(SMS_SID, SMS_TOKEN) as served:
        yield served


def intervention_settings(
    database_url: str,
    *,
    smtp_port: int,
    sms_url: str,
    playbooks: Path,
    **extra: Any,
) -> Settings:
    host = sms_url.removeprefix("http://")
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        login_refusal_delay_seconds=0,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        sms_url=f"http://{SMS_SID}:{SMS_TOKEN}@{host}",
        sms_from="+447911000001",
        playbooks_config=playbooks,
        public_base_url="http://127.0.0.1:8000",
        **extra,
    )


@asynccontextmanager
async def emptied_context(settings: Settings, clock: FakeClock) -> AsyncIterator[AppContext]:
    """A context built from ``settings`` on an emptied database, closed at the end."""
    context = build_context(settings, clock=clock)
    async with context.db.transaction() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def octx(
    database_url: str,
    clock: FakeClock,
    mailbox: tuple[Collector, Controller],
    sms: tuple[str, ProviderState],
    tmp_path: Path,
) -> AsyncIterator[AppContext]:
    """A context on an emptied database whose channels are this test's servers."""
    settings = intervention_settings(
        database_url,
        smtp_port=mailbox[1].port,
        sms_url=sms[0],
        playbooks=playbooks_config(tmp_path / "playbooks.yaml"),
    )
    async with emptied_context(settings, clock) as context:
        yield context


async def seed_supplier(ctx: AppContext, **overrides: Any) -> uuid.UUID:
    """A current customer with one user (email and mobile), through the suppliers service."""
    body = supplier_body(**overrides)
    if "users" not in overrides:
        body["users"][0]["phone"] = "+447911123456"
    async with ctx.db.transaction() as session:
        result = await upsert_batch(session=session, items=[body], now=ctx.clock())
    assert result.rejected == 0, result.errors
    return uuid.UUID(str(body["id"]))


async def risk_changed(
    ctx: AppContext, supplier_id: uuid.UUID, *, to: str = "at_risk", previous: str = "watch"
) -> None:
    """Health scoring says the supplier moved risk level; the dispatcher delivers it."""
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[
                NewEvent(
                    SuccessEventType.RISK_LEVEL_CHANGED,
                    supplier_id,
                    ctx.clock(),
                    {"risk_level": to, "previous_risk_level": previous, "score": 35.0},
                )
            ],
            now=ctx.clock(),
        )
    await ctx.dispatcher.drain()


# --- a supplier with one user, and an email recorded as sent to them ------------------------

PUBLIC_BASE = "https://success.wedsync.example"


@dataclass(frozen=True)
class Recipient:
    supplier_id: uuid.UUID
    user_id: uuid.UUID


@pytest.fixture
def links() -> TrackingLinks:
    return TrackingLinks(TEST_SECRET_KEY, PUBLIC_BASE)


@pytest.fixture
async def recipient(client: httpx.AsyncClient, ctx: AppContext) -> Recipient:
    supplier_id = uuid.UUID(await create_supplier(client))
    async with ctx.db.sessions() as session:
        user_id = await session.scalar(
            select(SupplierUser.id).where(SupplierUser.supplier_id == supplier_id)
        )
    assert user_id is not None
    return Recipient(supplier_id=supplier_id, user_id=user_id)


async def sent_email(ctx: AppContext, recipient: Recipient) -> uuid.UUID:
    """A marketing email recorded as sent to ``recipient``."""
    ident = uuid.uuid4()
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        await session.execute(
            insert(Intervention).values(
                id=ident,
                idempotency_key=f"test:{ident}",
                playbook_key="at_risk_rescue",
                step_no=0,
                supplier_id=recipient.supplier_id,
                supplier_user_id=recipient.user_id,
                channel="email",
                category="marketing",
                template="rescue_email",
                status=DeliveryStatus.SENT.value,
                created_at=now,
                updated_at=now,
                sent_at=now,
            )
        )
    return ident


async def outbox_count(ctx: AppContext, event_type: str) -> int:
    async with ctx.db.sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event_type == event_type)
        )
    return int(found or 0)


async def intervention(ctx: AppContext, ident: uuid.UUID) -> Intervention:
    async with ctx.db.sessions() as session:
        row = await session.get(Intervention, ident)
    assert row is not None
    return row
