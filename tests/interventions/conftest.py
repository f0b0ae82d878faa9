"""Data the intervention tests share: a supplier with one user, and a sent email to them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, insert, select

from tests.conftest import TEST_SECRET_KEY
from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.events.models import OutboxEvent
from wedsync_success.interventions.links import TrackingLinks
from wedsync_success.interventions.models import DeliveryStatus, Intervention
from wedsync_success.suppliers.models import SupplierUser

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
