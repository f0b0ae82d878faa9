"""The demo of the suppliers' side: a page looking like a supplier's own WedSync app, with
the in-app widget embedded for the supplier's main contact (its owner), as that user would see it.

Mounted with the dashboard (``web/pages.py``) and without sign-in: it stands in for the
supplier's app, which would mint the widget token in its own backend for its signed-in user.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from wedsync_success.config import require_secret_key
from wedsync_success.interventions import widget_tokens
from wedsync_success.kit.errors import NotFound
from wedsync_success.suppliers import repository as suppliers
from wedsync_success.web.deps import ContextDep, SessionDep
from wedsync_success.web.rendering import TEMPLATES

DEMO_POLL_SECONDS = 2
"""The demo's widget pulls this often, so a message posted during a demo shows at once."""

router = APIRouter(include_in_schema=False)


@router.get("/demo/supplier-app/{supplier_id}", response_class=HTMLResponse)
async def supplier_app(
    request: Request, supplier_id: uuid.UUID, ctx: ContextDep, session: SessionDep
) -> Response:
    supplier = await suppliers.get(session, supplier_id)
    contacts = await suppliers.primary_contacts(session, [supplier_id]) if supplier else {}
    user = contacts.get(supplier_id)
    if supplier is None or user is None:
        raise NotFound(f"No supplier {supplier_id} with a user to show the app as")
    token = widget_tokens.mint(
        secret_key=require_secret_key(ctx.settings), supplier_user_id=user.id, now=ctx.clock()
    )
    return TEMPLATES.TemplateResponse(
        request,
        "demo/supplier_app.html",
        {
            "supplier": supplier,
            "user": user,
            "token": token,
            "poll_seconds": DEMO_POLL_SECONDS,
        },
    )
