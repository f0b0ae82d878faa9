"""Seeding in-app messages the way the orchestrator will: an intervention row, then the
message through the service, in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions.inapp import post_message
from wedsync_success.interventions.models import DeliveryStatus, Intervention


async def new_intervention(
    session: AsyncSession, *, supplier_id: uuid.UUID, supplier_user_id: uuid.UUID, now: datetime
) -> uuid.UUID:
    intervention = Intervention(
        id=uuid.uuid4(),
        idempotency_key=f"test:{uuid.uuid4()}",
        playbook_key="at_risk_rescue",
        step_no=2,
        supplier_id=supplier_id,
        supplier_user_id=supplier_user_id,
        channel="inapp",
        category="marketing",
        template="coach_first_form",
        status=DeliveryStatus.SENT.value,
        created_at=now,
        updated_at=now,
        sent_at=now,
    )
    session.add(intervention)
    await session.flush()
    return intervention.id


async def seed_message(
    session: AsyncSession,
    *,
    supplier_id: uuid.UUID,
    supplier_user_id: uuid.UUID,
    now: datetime,
    kind: str = "coach",
    title: str = "Send your first client form",
    body: str = "Couples who get a form in week one book 30% more often.",
    cta_label: str | None = "Create a form",
    cta_url: str | None = "https://app.wedsync.example/forms/new",
) -> tuple[uuid.UUID, int]:
    """(intervention id, message id) of a new in-app message."""
    intervention_id = await new_intervention(
        session, supplier_id=supplier_id, supplier_user_id=supplier_user_id, now=now
    )
    message_id = await post_message(
        session=session,
        intervention_id=intervention_id,
        supplier_id=supplier_id,
        supplier_user_id=supplier_user_id,
        kind=kind,
        title=title,
        body=body,
        cta_label=cta_label,
        cta_url=cta_url,
        now=now,
    )
    return intervention_id, message_id
