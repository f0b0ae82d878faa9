"""GET /milestones: definitions with achievement rates and time to value."""

from __future__ import annotations

from fastapi import APIRouter

from wedsync_success.milestones.schemas import MilestoneStats
from wedsync_success.milestones.service import catalog_stats
from wedsync_success.suppliers.repository import count as supplier_count
from wedsync_success.web.deps import API_PREFIX, ContextDep, ReadKey, SessionDep
from wedsync_success.web.openapi import error_responses

router = APIRouter(prefix=API_PREFIX, tags=["milestones"])


@router.get(
    "/milestones",
    response_model=list[MilestoneStats],
    summary="Milestone definitions and achievement rates",
    responses=error_responses(401, 403, 429),
)
async def get_milestones(
    ctx: ContextDep, session: SessionDep, _key: ReadKey
) -> list[MilestoneStats]:
    return await catalog_stats(
        session=session, catalog=ctx.milestones, supplier_count=await supplier_count(session)
    )
