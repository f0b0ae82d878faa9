"""Dashboard pages for acting and measuring: playbooks and their results, the success team's
tasks, and sending a supplier a one-off message from its profile.

Like the rest of the dashboard they call the interventions services the API calls; writes
go through one :class:`~wedsync_success.db.unit_of_work.UnitOfWork` and every form carries
the session's CSRF token.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.requests import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import service
from wedsync_success.interventions.channels.base import Channel
from wedsync_success.interventions.one_off import queue_one_off
from wedsync_success.interventions.repository import TaskFilters
from wedsync_success.interventions.results import playbook_results
from wedsync_success.interventions.results_schemas import PlaybookResults
from wedsync_success.interventions.schemas import (
    OneOffMessageIn,
    PlaybookOut,
    TaskPatch,
    WeeklyEnrolments,
)
from wedsync_success.kit.batch import field_errors
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.web import formatting
from wedsync_success.web.deps import ContextDep, SessionDep, UnitOfWorkDep
from wedsync_success.web.rendering import flash, render, safe_next
from wedsync_success.web.session import ActingUser, CurrentUser, check_csrf
from wedsync_success.web.supplier_view import SendForm, form_token, supplier_context
from wedsync_success.web.workspace_view import snooze_dates

router = APIRouter(include_in_schema=False)

PLAYBOOK_WEEKS = 26
"""Weeks of enrolments the Playbooks page charts."""
TASKS_SHOWN = 100
"""Tasks of the team's view on one page; each row carries its own forms (done, dismiss,
snooze, reassign), about 4 KB of HTML."""
BOARD_SHOWN = 50
"""Tasks shown per group of My tasks (overdue, today, upcoming, snoozed); the heading counts
them all."""
FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
"""The send form's one-time token, as :func:`supplier_view.form_token` makes it."""


@dataclass(frozen=True)
class PlaybookCard:
    playbook: PlaybookOut
    results: PlaybookResults
    weekly: WeeklyEnrolments


@router.get("/playbooks", response_class=HTMLResponse)
async def playbooks_page(
    request: Request, ctx: ContextDep, session: SessionDep, user: CurrentUser
) -> Response:
    as_of = ctx.clock()
    cards = []
    for playbook in await service.list_playbooks(
        session=session, catalog=ctx.interventions.catalog
    ):
        results = await playbook_results(session=session, playbook_key=playbook.key, as_of=as_of)
        weekly = await service.enrolments_by_week(
            session=session, playbook_key=playbook.key, as_of=as_of.date(), weeks=PLAYBOOK_WEEKS
        )
        cards.append(PlaybookCard(playbook=playbook, results=results, weekly=weekly))
    return render(request, "playbooks.html", user=user, page="playbooks", cards=cards, as_of=as_of)


@router.get("/tasks", response_class=HTMLResponse)
async def tasks_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
    owner: str = "mine",
) -> Response:
    """My tasks by when they are due (overdue, today, upcoming, snoozed), or the team's open
    tasks (``owner=all``, or one member's id)."""
    today = ctx.clock().date()
    board = None
    if owner == "mine":
        board = await service.task_board(
            session=session, owner_id=user.id, today=today, limit=BOARD_SHOWN
        )
        shown = [
            *board.overdue.items,
            *board.due_today.items,
            *board.upcoming.items,
            *board.snoozed.items,
        ]
        more = False
    else:
        filters = TaskFilters(status="open", owner_id=None if owner == "all" else _member(owner))
        tasks = await service.list_tasks(
            session=session, filters=filters, cursor=None, limit=TASKS_SHOWN
        )
        shown, more = tasks.items, tasks.next_cursor is not None
    names = await service.task_names(
        session=session, tasks=shown, catalog=ctx.interventions.catalog
    )
    return render(
        request,
        "tasks.html",
        user=user,
        page="tasks",
        board=board,
        tasks=shown,
        more=more,
        names=names,
        owner=owner,
        today=today,
        members=await service.assignable_members(session=session),
        snooze_dates=snooze_dates(today),
    )


def _member(owner: str) -> uuid.UUID:
    try:
        return uuid.UUID(owner)
    except ValueError:
        raise ValidationFailed(
            "owner is mine, all, or a team member's id",
            details=[{"field": "owner", "reason": "not mine, all or a team member's id"}],
        ) from None


@router.post("/tasks/{task_id}/status")
async def close_task(
    request: Request,
    task_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    status: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/tasks",
) -> Response:
    """Done or Dismiss: the task leaves the open list."""
    check_csrf(request, csrf)
    if status not in ("done", "dismissed"):
        return _error(request, user, 422, "A task can be marked done or dismissed.")
    patch = TaskPatch(status="done" if status == "done" else "dismissed")
    now = ctx.clock()
    try:
        task = await uow.run(
            lambda write: service.update_task(session=write, task_id=task_id, patch=patch, now=now)
        )
    except NotFound:
        await session.refresh(user)  # the rolled-back transaction expired it
        return _error(request, user, 404, "That task no longer exists.")
    except ValidationFailed as exc:
        await session.refresh(user)
        return _error(request, user, 422, exc.message)
    flash(request, f"“{task.title}” marked {'done' if status == 'done' else 'dismissed'}.")
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/suppliers/{supplier_id}/messages", response_class=HTMLResponse)
async def send_message(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    channel: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Queue a one-off message once per form (its token is the idempotency key), wake the
    worker and go back to the profile; a refused field shows the form again with why."""
    check_csrf(request, csrf)
    form = SendForm(
        token=token if FORM_TOKEN.match(token) else form_token(),
        channel=channel,
        category=category,
        subject=subject,
        body=body,
    )
    if not FORM_TOKEN.match(token):
        return await _refused(request, ctx, session, user, supplier_id, form, {"form": _STALE})
    fields = {"channel": channel, "subject": subject, "body": body}
    if category:
        fields["category"] = category
    try:
        message = OneOffMessageIn.model_validate(fields)
    except ValidationError as exc:
        errors = {d["field"]: d["reason"] for d in field_errors(exc.errors())}
        return await _refused(request, ctx, session, user, supplier_id, form, errors)
    now = ctx.clock()

    async def work(write: AsyncSession) -> bool:
        _, created = await queue_one_off(
            session=write,
            supplier_id=supplier_id,
            supplier_user_id=None,
            channel=Channel(message.channel),
            category=message.category,
            subject=message.subject,
            body=message.body,
            idempotency_key=f"dash:{user.id}:{token}",
            sent_by=user.id,
            now=now,
        )
        return created

    try:
        created = await uow.run(work)
    except ValidationFailed as exc:
        await session.refresh(user)  # the rolled-back transaction expired it
        return await _refused(request, ctx, session, user, supplier_id, form, {"form": exc.message})
    ctx.interventions.wake_worker()
    flash(
        request,
        f"{formatting.channel_label(message.channel)} message queued: it shows below "
        "as it goes out."
        if created
        else "That form was already sent: the message is queued once, not twice.",
    )
    return RedirectResponse(f"/suppliers/{supplier_id}#outreach", status_code=303)


_STALE = "This form has expired: it was sent without its one-time token. Send it again."


async def _refused(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
    supplier_id: uuid.UUID,
    form: SendForm,
    errors: dict[str, str],
) -> Response:
    shown = dataclasses.replace(form, errors=errors)
    context = await supplier_context(ctx=ctx, session=session, supplier_id=supplier_id, form=shown)
    return render(request, "supplier.html", status_code=422, user=user, page="suppliers", **context)


def _error(request: Request, user: CurrentUser, status_code: int, message: str) -> Response:
    return render(
        request, "error.html", status_code=status_code, user=user, page="tasks", message=message
    )
