"""Small hand-made treated and control arms for the ROI report's tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from wedsync_success.context import AppContext
from wedsync_success.interventions.models import Arm, Intervention, PlaybookRun, RunStatus
from wedsync_success.suppliers.service import upsert_batch

DAY = timedelta(days=1)


async def supplier(
    ctx: AppContext, *, ended_at: datetime | None, signed_up_at: datetime | None = None
) -> uuid.UUID:
    supplier_id = uuid.uuid4()
    signup = signed_up_at or datetime.fromisoformat("2025-01-01T00:00:00+00:00")
    item = {
        "id": str(supplier_id),
        "business_name": f"Supplier {supplier_id.hex[:6]}",
        "vendor_type": "photographer",
        "country": "GB",
        "signed_up_at": signup.isoformat(),
        "plan_tier": "professional",
        "mrr_minor": 4900,
        "currency": "GBP",
        "subscription_status": "cancelled" if ended_at else "active",
        "subscription_ended_at": ended_at.isoformat() if ended_at else None,
    }
    async with ctx.db.transaction() as session:
        result = await upsert_batch(session=session, items=[item], now=ctx.clock())
    assert result.created == 1, result.errors
    return supplier_id


def run(
    supplier_id: uuid.UUID,
    key: str,
    *,
    arm: Arm,
    enrolled_at: datetime,
    mrr: int,
    currency: str = "GBP",
    status: RunStatus = RunStatus.COMPLETED,
) -> PlaybookRun:
    return PlaybookRun(
        id=uuid.uuid4(),
        playbook_key=key,
        goal_group=key,
        supplier_id=supplier_id,
        arm=arm,
        status=status,
        trigger={"event": "supplier.risk_level_changed"},
        enrolled_at=enrolled_at,
        ended_at=enrolled_at + 3 * DAY,
        mrr_minor_at_enrolment=mrr,
        currency=currency,
    )


def message(
    r: PlaybookRun, step: int, channel: str, status: str, *, at: datetime | None = None
) -> Intervention:
    created: Any = at or r.enrolled_at
    return Intervention(
        idempotency_key=f"{r.id}:{step}",
        run_id=r.id,
        step_no=step,
        playbook_key=r.playbook_key,
        supplier_id=r.supplier_id,
        channel=channel,
        category="marketing",
        template="at_risk_checkin",
        status=status,
        created_at=created,
        updated_at=created,
    )
