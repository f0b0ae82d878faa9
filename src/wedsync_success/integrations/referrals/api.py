"""GET /referrals/top (the network's top connectors) and GET /suppliers/{id}/referrals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.integrations.referrals import service
from wedsync_success.integrations.referrals.schemas import ConnectorPage, SupplierReferralsOut
from wedsync_success.web.deps import API_PREFIX, ReadKey, SessionDep, SupplierIdDep
from wedsync_success.web.openapi import error_responses

router = APIRouter(prefix=API_PREFIX, tags=["referrals"])


@router.get(
    "/referrals/top",
    response_model=ConnectorPage,
    summary="The referral network's top connectors, by PageRank",
    responses=error_responses(401, 403, 422, 429),
)
async def get_top_connectors(
    session: SessionDep,
    _key: ReadKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page", max_length=512)
    ] = None,
) -> ConnectorPage:
    """Suppliers of the network with their metrics, highest PageRank first (as of the last
    `referrals compute`); `super_connector` follows the configured rule."""
    return await service.top_connectors(session=session, limit=limit, cursor=cursor)


@router.get(
    "/suppliers/{supplier_id}/referrals",
    response_model=SupplierReferralsOut,
    summary="A supplier's referral metrics and referral tree",
    responses=error_responses(401, 403, 404, 422, 429),
)
async def get_supplier_referrals(
    supplier_id: SupplierIdDep,
    session: SessionDep,
    _key: ReadKey,
    depth: Annotated[
        int, Query(ge=1, le=service.MAX_TREE_DEPTH, description="Levels of the tree")
    ] = 3,
) -> SupplierReferralsOut:
    """Whom the supplier referred (each referred business once, converted first), and,
    for those that signed up, whom they referred in turn, `depth` levels down."""
    return await service.supplier_referrals(session=session, supplier_id=supplier_id, depth=depth)
