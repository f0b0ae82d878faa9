"""Dashboard routes that give accounts an owner: one from its profile, many from the list.

Both are an admin's or a manager's (``ActingUser``: a viewer gets the 403 page and nothing is
written), check the form's CSRF token, run in one unit of work, leave a flash notice and
redirect back where the form was.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.requests import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import TeamUser
from wedsync_success.kit.errors import WedSyncError
from wedsync_success.suppliers.owners import assign_owner
from wedsync_success.suppliers.schemas import MAX_OWNER_BATCH, OwnerAssignment
from wedsync_success.web.deps import SessionDep, UnitOfWorkDep
from wedsync_success.web.owner_view import NOBODY
from wedsync_success.web.rendering import flash, render, safe_next
from wedsync_success.web.session import ActingUser, check_csrf

router = APIRouter(include_in_schema=False)


def _owner_choice(value: str) -> uuid.UUID | None:
    """The owner a form chose: a team member's id, or :data:`NOBODY`."""
    if value == NOBODY:
        return None
    return uuid.UUID(value)


async def _assign(
    session: AsyncSession,
    uow: UnitOfWorkDep,
    user: TeamUser,
    supplier_ids: list[uuid.UUID],
    owner_id: uuid.UUID | None,
) -> OwnerAssignment:
    """Run the assignment; a refusal (an owner who cannot own) raises to the error page."""

    async def work(write: AsyncSession) -> OwnerAssignment:
        return await assign_owner(session=write, supplier_ids=supplier_ids, owner_id=owner_id)

    try:
        return await uow.run(work)
    except WedSyncError:
        await session.refresh(user)  # the rollback expired it; the error page shows it
        raise


def _error(request: Request, user: TeamUser, status_code: int, message: str) -> Response:
    return render(
        request, "error.html", status_code=status_code, user=user, page="suppliers", message=message
    )


@router.post("/suppliers/{supplier_id}/owner")
async def set_account_owner(
    request: Request,
    supplier_id: uuid.UUID,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    owner_id: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Give this account to a team member, or to nobody."""
    check_csrf(request, csrf)
    try:
        owner = _owner_choice(owner_id)
    except ValueError:
        return _error(request, user, 422, "owner_id: choose a team member from the list.")
    outcome = await _assign(session, uow, user, [supplier_id], owner)
    if outcome.rejected:
        return _error(request, user, 404, f"No supplier with id {supplier_id}")
    flash(
        request,
        f"{outcome.owner_name} owns the account now." if owner else "The account has no owner now.",
    )
    return RedirectResponse(f"/suppliers/{supplier_id}#owner", status_code=303)


@router.post("/suppliers/owner")
async def set_account_owners(
    request: Request,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    supplier_id: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    owner_id: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/suppliers",
) -> Response:
    """Give the ticked accounts of the list to a team member, or to nobody."""
    check_csrf(request, csrf)
    if not supplier_id:
        return _error(request, user, 422, "supplier_id: tick at least one supplier in the list.")
    if len(supplier_id) > MAX_OWNER_BATCH:
        return _error(
            request, user, 422, f"supplier_id: at most {MAX_OWNER_BATCH} suppliers at a time."
        )
    try:
        ids = [uuid.UUID(value) for value in supplier_id]
        owner = _owner_choice(owner_id)
    except ValueError:
        return _error(
            request, user, 422, "owner_id: choose a team member; supplier_id: tick suppliers."
        )
    outcome = await _assign(session, uow, user, ids, owner)
    moved = outcome.assigned + outcome.unchanged
    accounts = f"{moved} account{'s' if moved != 1 else ''}"
    missing = f" ({outcome.rejected} no longer exist)" if outcome.rejected else ""
    flash(
        request,
        f"{accounts} given to {outcome.owner_name}{missing}."
        if owner
        else f"{accounts} left without an owner{missing}.",
    )
    return RedirectResponse(safe_next(next), status_code=303)
