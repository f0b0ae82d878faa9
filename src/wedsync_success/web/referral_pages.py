"""The dashboard's Network page: the referral network's top connectors, and one supplier's
referral tree. The same service functions as ``GET /api/v1/referrals/top`` and
``GET /api/v1/suppliers/{id}/referrals``; templates only format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from wedsync_success.integrations.referrals import service
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers.service import supplier_by_ref
from wedsync_success.web.deps import SessionDep
from wedsync_success.web.rendering import render
from wedsync_success.web.session import CurrentUser

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25


@router.get("/network", response_class=HTMLResponse)
async def network_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Top connectors by PageRank, a page at a time, with who the super-connectors are."""
    try:
        page = await service.top_connectors(session=session, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        page = await service.top_connectors(session=session, limit=PAGE_SIZE, cursor=None)
    return render(
        request,
        "network.html",
        user=user,
        page="network",
        connectors=page,
        first_page=cursor is None,
    )


@router.get("/network/suppliers/{supplier_ref}", response_class=HTMLResponse)
async def supplier_network_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    supplier_ref: str,
    depth: Annotated[int, Query(ge=1, le=service.MAX_TREE_DEPTH)] = 3,
) -> Response:
    """One supplier's place in the network and its referral tree, ``depth`` levels down."""
    supplier = await supplier_by_ref(session=session, ref=supplier_ref)
    found = await service.supplier_referrals(session=session, supplier_id=supplier.id, depth=depth)
    return render(
        request,
        "network_supplier.html",
        user=user,
        page="network",
        supplier=supplier,
        found=found,
        depth=depth,
        max_depth=service.MAX_TREE_DEPTH,
    )
