"""Finding a supplier from the dashboard: the results page and the top bar's suggestions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.suppliers.search import search_suppliers
from wedsync_success.web.deps import SessionDep
from wedsync_success.web.formatting import label, risk_label
from wedsync_success.web.rendering import render
from wedsync_success.web.session import CurrentUser

router = APIRouter(include_in_schema=False)

SUGGESTIONS = 8
RESULTS = 50


@router.get("/search/suppliers")
async def suggestions(session: SessionDep, _user: CurrentUser, q: str = "") -> Response:
    """Search-as-you-type: the top matches as JSON (nothing for a blank query)."""
    if not q.strip():
        return JSONResponse({"items": []})
    found = await search_suppliers(session=session, q=q, limit=SUGGESTIONS)
    items: list[dict[str, Any]] = [
        {
            "id": str(m.id),
            "business_name": m.business_name,
            "vendor_type": label(m.vendor_type),
            "risk_level": m.risk_level,
            "risk_label": risk_label(m.risk_level) if m.risk_level else None,
            "url": f"/suppliers/{m.id}",
        }
        for m in found.items
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, session: SessionDep, user: CurrentUser, q: str = ""
) -> Response:
    """Every supplier whose name matches ``q``, with links to their profiles."""
    try:
        found = await search_suppliers(session=session, q=q, limit=RESULTS)
    except ValidationFailed as exc:
        reason = exc.details[0]["reason"] if exc.details else exc.message
        return render(
            request,
            "search.html",
            status_code=422,
            user=user,
            page="search",
            q=q[:200],
            matches=None,
            error=f"The search {reason}.",
        )
    return render(
        request,
        "search.html",
        user=user,
        page="search",
        q=q.strip(),
        matches=found.items,
        limit=RESULTS,
        error=None,
    )
