"""The supplier profile: one read model composed from every domain that knows the supplier."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.health.config import COMPONENT_NAMES, HealthConfig, RiskLevel
from wedsync_success.health.explanation import explain
from wedsync_success.health.models import HealthScore
from wedsync_success.health.onboarding import next_milestone, onboarding_progress
from wedsync_success.health.schemas import Explanation, FactorOut, HealthDetail, ImprovementOut
from wedsync_success.milestones.definitions import MilestoneCatalog
from wedsync_success.milestones.schemas import MilestoneProgress
from wedsync_success.milestones.service import AchievedAt, filtered_conditions, progress_from
from wedsync_success.suppliers.profile_repository import profile_rows
from wedsync_success.suppliers.schemas import SupplierUserOut
from wedsync_success.suppliers.service import no_such_supplier
from wedsync_success.surveys.schemas import LatestScores, ResponseOut


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


async def supplier_profile(
    *,
    session: AsyncSession,
    ref: str,
    health_config: HealthConfig,
    catalog: MilestoneCatalog,
    event_limit: int = 20,
    response_limit: int = 10,
) -> SupplierProfile:
    """Everything the success team needs on the supplier ``ref`` names (its id, or its
    external id), read in one statement (:mod:`suppliers.profile_repository`); 404 when
    none."""
    try:
        as_id: uuid.UUID | None = uuid.UUID(ref)
    except ValueError:
        as_id = None
    read = await profile_rows(
        session,
        as_id=as_id,
        external_id=ref,
        conditions=filtered_conditions(catalog),
        event_limit=event_limit,
        response_limit=response_limit,
    )
    if read is None:
        raise no_such_supplier(ref)
    supplier, score = read.supplier, read.health
    milestones = progress_from(
        catalog=catalog,
        achieved={
            a["milestone_key"]: AchievedAt(a["achieved_at"], a["days_to_achieve"])
            for a in read.achievements
        },
        counts=read.event_totals,
        matching=read.matching,
    )
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
        users=[SupplierUserOut.model_validate(u) for u in read.users],
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
                event_id=e["event_id"],
                type=e["event_type"],
                occurred_at=e["occurred_at"],
                properties=e["properties"] or {},
            )
            for e in read.recent_events
        ],
        success_events=[
            SuccessEventOut(
                event_id=e["event_id"],
                type=e["event_type"],
                occurred_at=e["occurred_at"],
                payload=e["payload"],
            )
            for e in read.success_events
        ],
        surveys=LatestScores(
            nps=ResponseOut.model_validate(read.latest_nps) if read.latest_nps else None,
            csat=ResponseOut.model_validate(read.latest_csat) if read.latest_csat else None,
            recent=[ResponseOut.model_validate(r) for r in read.recent_responses],
        ),
    )
