"""Supplier routes: register, list with filters, full profile."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.health.config import RiskLevel
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.kit.pagination import MAX_CURSOR_CHARS
from wedsync_success.pipeline import refresh, reprice_churn
from wedsync_success.suppliers import owners, service
from wedsync_success.suppliers.models import PlanTier, SubscriptionStatus, VendorType
from wedsync_success.suppliers.profile import SupplierProfile, supplier_profile
from wedsync_success.suppliers.repository import SupplierFilters, SupplierSort
from wedsync_success.suppliers.schemas import (
    OwnerAssignment,
    OwnerAssignmentIn,
    SupplierBatchResult,
    SupplierIn,
    SupplierPage,
)
from wedsync_success.suppliers.service import MAX_SUPPLIER_BATCH
from wedsync_success.web.body import batch_items, read_json, validate_body
from wedsync_success.web.deps import (
    API_PREFIX,
    ActKey,
    ContextDep,
    IngestKey,
    ReadKey,
    SessionDep,
    SupplierRef,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, WRITE, error_responses, json_body

router = APIRouter(prefix=API_PREFIX, tags=["suppliers"])

ChurnBand = Literal["low", "medium", "high"]


class SupplierBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suppliers: list[SupplierIn] = Field(
        max_length=MAX_SUPPLIER_BATCH,
        description="Up to 1,000 suppliers; each is validated on its own, and an invalid one "
        "is reported in `errors` while the rest are stored",
    )


@router.post(
    "/suppliers",
    response_model=SupplierBatchResult,
    summary="Create or update suppliers",
    openapi_extra=json_body(SupplierBatchIn, description='{"suppliers": [...]}'),
    responses=error_responses(*WRITE),
)
async def post_suppliers(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: IngestKey
) -> SupplierBatchResult:
    """Create suppliers, or update them when `id` matches; each is scored straight away."""
    payload = await read_json(request, limit=ctx.settings.max_body_bytes)
    suppliers = batch_items(payload, key="suppliers")
    now = ctx.clock()

    async def work(session: AsyncSession) -> SupplierBatchResult:
        result = await service.upsert_batch(session=session, items=suppliers, now=now)
        await reprice_churn(session=session, ctx=ctx, supplier_ids=result.ids)
        await refresh(
            session=session,
            ctx=ctx,
            as_of=now.date(),
            supplier_ids=result.ids,
            detect_milestones=False,
        )
        return result

    return await uow.run(work)


@router.get(
    "/suppliers",
    response_model=SupplierPage,
    summary="List suppliers with their health",
    responses=error_responses(*READ),
)
async def get_suppliers(
    ctx: ContextDep,
    session: SessionDep,
    _key: ReadKey,
    risk_level: RiskLevel | None = None,
    vendor_type: VendorType | None = None,
    plan: PlanTier | None = None,
    status: SubscriptionStatus | None = None,
    current_only: Annotated[
        bool, Query(description="Only current customers (every status but cancelled)")
    ] = False,
    score_min: Annotated[float | None, Query(ge=0, le=100, allow_inf_nan=False)] = None,
    score_max: Annotated[float | None, Query(ge=0, le=100, allow_inf_nan=False)] = None,
    churn_band: Annotated[
        ChurnBand | None, Query(description="The churn model's band of the latest prediction")
    ] = None,
    churn_probability_min: Annotated[
        float | None, Query(ge=0, le=1, allow_inf_nan=False, description="Inclusive, 0-1")
    ] = None,
    churn_probability_max: Annotated[
        float | None, Query(ge=0, le=1, allow_inf_nan=False, description="Inclusive, 0-1")
    ] = None,
    account_owner_id: Annotated[
        uuid.UUID | None, Query(description="Only the accounts this team member owns")
    ] = None,
    unowned: Annotated[bool, Query(description="Only the accounts nobody owns")] = False,
    sort: Annotated[
        SupplierSort,
        Query(
            description="score (riskiest health first), -score, change_7d (steepest decline), "
            "name, priority (expected MRR lost = churn probability x MRR in the reporting "
            "currency, largest first), -churn_probability (most likely to leave first) or "
            "churn_probability; the churn sorts list only suppliers with a churn prediction"
        ),
    ] = "score",
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SupplierPage:
    """Riskiest first by default; keyset pagination keeps every page fast."""
    if unowned and account_owner_id is not None:
        raise ValidationFailed(
            "unowned=true asks for accounts nobody owns, so it cannot go with account_owner_id",
            details=[{"field": "unowned", "reason": "cannot be combined with account_owner_id"}],
        )
    filters = SupplierFilters(
        risk_level=risk_level,
        vendor_type=vendor_type,
        plan_tier=plan,
        status=status,
        current_only=current_only,
        score_min=score_min,
        score_max=score_max,
        churn_band=churn_band,
        churn_min=churn_probability_min,
        churn_max=churn_probability_max,
        owner_id=account_owner_id,
        unowned=unowned,
    )
    return await service.list_suppliers(
        session=session,
        filters=filters,
        reporting_currency=ctx.settings.reporting_currency,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/suppliers/{supplier_id}",
    response_model=SupplierProfile,
    summary="A supplier's profile",
    responses=error_responses(*READ, 404),
)
async def get_supplier(
    _key: ReadKey, supplier_id: SupplierRef, ctx: ContextDep, session: SessionDep
) -> Response:
    """Current health with components, explanation and trend, milestones, recent events."""
    profile = await supplier_profile(
        session=session,
        ref=supplier_id,
        health_config=ctx.health,
        catalog=ctx.milestones,
    )
    # Serialised once, by pydantic's own encoder: returning the model would have FastAPI
    # validate it again against `response_model` and encode it in Python (the hot read's
    # largest cost after the database).
    return Response(profile.model_dump_json(by_alias=True), media_type="application/json")


@router.post(
    "/account-owners",
    response_model=OwnerAssignment,
    summary="Give accounts to a team member",
    openapi_extra=json_body(
        OwnerAssignmentIn,
        description="the accounts (up to 500) and their new owner (null: nobody)",
        example={
            "supplier_ids": ["0b6f9c1e-5d1a-4c1e-9a43-2f4f0f6d9b10"],
            "owner_id": "7f3d2a50-8c4e-4b7a-9d61-3e2b1c0a9f87",
        },
    ),
    responses=error_responses(*WRITE),
)
async def post_account_owners(
    request: Request, ctx: ContextDep, uow: UnitOfWorkDep, _key: ActKey
) -> OwnerAssignment:
    """The owner must be an enabled admin or manager (422 otherwise, naming `owner_id`); an id
    that names no supplier is reported in `errors` while the others are moved."""
    body = validate_body(
        OwnerAssignmentIn, await read_json(request, limit=ctx.settings.max_body_bytes)
    )

    async def work(session: AsyncSession) -> OwnerAssignment:
        return await owners.assign_owner(
            session=session, supplier_ids=body.supplier_ids, owner_id=body.owner_id
        )

    return await uow.run(work)
