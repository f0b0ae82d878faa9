"""Health routes: a supplier's score history, and an on-demand recompute."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.health import repository
from wedsync_success.health.config import COMPONENT_NAMES
from wedsync_success.health.peers import peer_standing
from wedsync_success.health.schemas import HealthHistory, HistoryPoint, PeerStanding, RecomputeOut
from wedsync_success.pipeline import refresh
from wedsync_success.suppliers.service import get_supplier
from wedsync_success.web.deps import (
    API_PREFIX,
    AdminKey,
    ContextDep,
    ReadKey,
    SessionDep,
    SupplierIdDep,
    UnitOfWorkDep,
)
from wedsync_success.web.openapi import READ, error_responses
from wedsync_success.web.params import Day

router = APIRouter(prefix=API_PREFIX, tags=["health"])


@router.get(
    "/suppliers/{supplier_id}/health/history",
    response_model=HealthHistory,
    summary="A supplier's score history",
    responses=error_responses(*READ, 404),
)
async def get_history(
    _key: ReadKey,
    supplier_id: SupplierIdDep,
    session: SessionDep,
    since: Annotated[Day | None, Query(description="First day, inclusive")] = None,
    until: Annotated[Day | None, Query(description="Last day, inclusive")] = None,
) -> HealthHistory:
    await get_supplier(session=session, supplier_id=supplier_id)
    rows = await repository.history(session, supplier_id, since=since, until=until)
    return HealthHistory(
        supplier_id=str(supplier_id),
        points=[
            HistoryPoint(
                as_of=r.as_of,
                score=r.score,
                risk_level=r.risk_level,
                components={n: getattr(r, n) for n in COMPONENT_NAMES},
            )
            for r in rows
        ],
    )


@router.get(
    "/suppliers/{supplier_id}/peers",
    response_model=PeerStanding,
    summary="Where a supplier's health stands among suppliers of its vendor type and plan",
    responses=error_responses(*READ, 404),
)
async def get_peers(
    _key: ReadKey, supplier_id: SupplierIdDep, ctx: ContextDep, session: SessionDep
) -> PeerStanding:
    """Percentile rank of the supplier's score among the current customers of the same vendor
    type and plan, and their distribution in 10-point bands. The distribution is refreshed
    in the background, at most ``WEDSYNC_OVERVIEW_MAX_AGE_SECONDS`` old."""
    return await peer_standing(session=session, peers=ctx.peers, supplier_id=supplier_id)


@router.post(
    "/health/recompute",
    response_model=RecomputeOut,
    summary="Detect milestones and rescore every active supplier",
    responses=error_responses(*READ, 503),
)
async def post_recompute(
    ctx: ContextDep,
    uow: UnitOfWorkDep,
    _key: AdminKey,
    as_of: Annotated[Day | None, Query(description="Day to score as of; default today")] = None,
) -> RecomputeOut:
    day = as_of or ctx.clock().date()
    summary = await uow.run(
        lambda session: refresh(session=session, ctx=ctx, as_of=day, supplier_ids=None)
    )
    return RecomputeOut(
        as_of=summary.as_of,
        scored=summary.scored,
        risk_levels=summary.risk_levels,
        events=summary.events,
    )
