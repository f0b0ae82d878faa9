"""The supplier profile: one read model composed from every domain that knows the supplier."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.repository import last_seen_by_user, recent_events
from wedsync_success.events.repository import recent as recent_success_events
from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig, RiskLevel
from wedsync_success.health.explanation import explain
from wedsync_success.health.models import HealthScore
from wedsync_success.health.onboarding import next_milestone, onboarding_progress
from wedsync_success.health.repository import current as current_health
from wedsync_success.health.schemas import Explanation, FactorOut, HealthDetail, ImprovementOut
from wedsync_success.milestones.definitions import MilestoneCatalog
from wedsync_success.milestones.schemas import MilestoneProgress
from wedsync_success.milestones.service import progress_of
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.repository import users_of
from wedsync_success.suppliers.schemas import SupplierUserOut
from wedsync_success.surveys.schemas import LatestScores
from wedsync_success.surveys.service import latest_scores


class ActivityOut(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    properties: dict[str, Any]


class SuccessEventOut(BaseModel):
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


class SupplierProfile(BaseModel):
    id: uuid.UUID
    external_id: str | None = Field(description="The customer's own id; null when none was given")
    business_name: str
    vendor_type: str
    country: str
    signed_up_at: datetime
    plan_tier: str
    mrr_minor: int
    currency: str
    subscription_status: str
    subscription_started_at: datetime
    subscription_ended_at: datetime | None
    cancellation_reason: str | None
    acquisition_channel: str | None = None
    account_owner_id: uuid.UUID | None
    users: list[SupplierUserOut]
    health: HealthDetail | None
    milestones: list[MilestoneProgress]
    recent_events: list[ActivityOut]
    success_events: list[SuccessEventOut]
    surveys: LatestScores = Field(
        description="The latest NPS and CSAT scores and the recent responses with comments"
    )


def health_detail(
    score: HealthScore,
    config: HealthConfig,
    *,
    milestones: Sequence[MilestoneProgress],
    signed_up_at: datetime,
) -> HealthDetail:
    """The current score with its components, explanation and (while onboarding) progress."""
    found = explain(
        score, config, milestones_defined=len(milestones), next_milestone=next_milestone(milestones)
    )
    onboarding = (
        onboarding_progress(
            config=config, signed_up_at=signed_up_at, as_of=score.as_of, milestones=milestones
        )
        if score.risk_level == RiskLevel.ONBOARDING
        else None
    )
    return HealthDetail(
        score=score.score,
        risk_level=score.risk_level,
        as_of=score.as_of,
        computed_at=score.computed_at,
        change_7d=score.change_7d,
        change_30d=score.change_30d,
        last_active_on=score.last_active_on,
        components={n: getattr(score, n) for n in COMPONENT_NAMES},
        explanation=Explanation(
            healthy_score=found.healthy_score,
            strengths=[FactorOut.model_validate(f, from_attributes=True) for f in found.strengths],
            gaps=[FactorOut.model_validate(f, from_attributes=True) for f in found.gaps],
            improvements=[
                ImprovementOut.model_validate(i, from_attributes=True) for i in found.improvements
            ],
        ),
        onboarding=onboarding,
    )


async def _contacts(session: AsyncSession, supplier_id: uuid.UUID) -> list[SupplierUserOut]:
    """The supplier's users, each with when they were last seen."""
    seen = await last_seen_by_user(session, supplier_id)
    return [
        SupplierUserOut.model_validate(u).model_copy(update={"last_seen_at": seen.get(u.id)})
        for u in await users_of(session, supplier_id)
    ]


async def supplier_profile(
    *,
    session: AsyncSession,
    supplier: Supplier,
    health_config: HealthConfig,
    catalog: MilestoneCatalog,
    event_limit: int = 20,
) -> SupplierProfile:
    """Everything the success team needs on ``supplier`` (a row the caller has read)."""
    supplier_id = supplier.id
    score = await current_health(session, supplier_id)
    milestones = await progress_of(session=session, catalog=catalog, supplier_id=supplier_id)
    return SupplierProfile(
        id=supplier.id,
        external_id=supplier.external_id,
        business_name=supplier.business_name,
        vendor_type=supplier.vendor_type,
        country=supplier.country,
        signed_up_at=supplier.signed_up_at,
        plan_tier=supplier.plan_tier,
        mrr_minor=supplier.mrr_minor,
        currency=supplier.currency,
        subscription_status=supplier.subscription_status,
        subscription_started_at=supplier.subscription_started_at,
        subscription_ended_at=supplier.subscription_ended_at,
        cancellation_reason=supplier.cancellation_reason,
        acquisition_channel=supplier.acquisition_channel,
        account_owner_id=supplier.account_owner_id,
        users=await _contacts(session, supplier_id),
        health=(
            health_detail(
                score, health_config, milestones=milestones, signed_up_at=supplier.signed_up_at
            )
            if score
            else None
        ),
        milestones=milestones,
        recent_events=[
            ActivityOut(
                event_id=e.event_id,
                type=e.event_type,
                occurred_at=e.occurred_at,
                properties=e.properties or {},
            )
            for e in await recent_events(session, supplier_id, limit=event_limit)
        ],
        success_events=[
            SuccessEventOut(
                event_id=e.event_id, type=e.event_type, occurred_at=e.occurred_at, payload=e.payload
            )
            for e in await recent_success_events(
                session, supplier_id=supplier_id, limit=event_limit
            )
        ],
        surveys=await latest_scores(session=session, supplier_id=supplier_id),
    )
