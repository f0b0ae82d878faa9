"""Dashboard routes for acting on an account: notes, hand-made tasks, starting a playbook by
hand, snoozing the account's alerts, a message started from a template; and working tasks
(snooze, reassign).

Every write is an admin's or a manager's (``ActingUser``: a viewer gets the 403 page and
nothing is written), checks the form's CSRF token, runs in one unit of work, leaves a flash
notice and redirects. A refused profile form shows the profile again (422) with the reason
beside the field and what was typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form
from fastapi.requests import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access.models import TeamUser
from wedsync_success.db.unit_of_work import UnitOfWork
from wedsync_success.interventions import service as interventions
from wedsync_success.interventions.drafts import draft_from_template
from wedsync_success.interventions.models import Arm
from wedsync_success.interventions.schemas import ManualTaskIn, TaskOut, TaskPatch
from wedsync_success.kit.batch import field_errors
from wedsync_success.kit.errors import ValidationFailed, WedSyncError
from wedsync_success.web import formatting
from wedsync_success.web.deps import ContextDep, SessionDep, UnitOfWorkDep
from wedsync_success.web.rendering import flash, render, safe_next
from wedsync_success.web.session import ActingUser, CurrentUser, check_csrf
from wedsync_success.web.supplier_view import SendForm, supplier_context
from wedsync_success.web.workspace_view import WorkspaceForms
from wedsync_success.workspace import service as workspace
from wedsync_success.workspace.schemas import NoteText, SnoozeIn

router = APIRouter(include_in_schema=False)

T = TypeVar("T")
Field = Annotated[str, Form()]


async def _run(
    uow: UnitOfWork,
    session: AsyncSession,
    user: TeamUser,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """``uow.run(work)``; on a refusal the user is reloaded (the rollback expired it) for
    whatever page is shown next."""
    try:
        return await uow.run(work)
    except WedSyncError:
        await session.refresh(user)
        raise


def _reasons(form: str, details: Any) -> dict[str, str]:
    """Refusal details as ``{"form.field": reason}``."""
    return {f"{form}.{d['field']}": str(d["reason"]) for d in details or []}


async def _refused(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    user: TeamUser,
    supplier_id: uuid.UUID,
    forms: WorkspaceForms,
) -> Response:
    context = await supplier_context(
        ctx=ctx, session=session, supplier_id=supplier_id, form=SendForm()
    )
    context["acts"] = forms
    return render(request, "supplier.html", status_code=422, user=user, page="suppliers", **context)


def _back(supplier_id: uuid.UUID, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/suppliers/{supplier_id}#{anchor}", status_code=303)


# Notes


@router.post("/suppliers/{supplier_id}/notes", response_class=HTMLResponse)
async def add_note(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    body: Field = "",
    csrf: Field = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        text = NoteText(body=body)
    except ValidationError as exc:
        forms = WorkspaceForms({"note.body": body}, _reasons("note", field_errors(exc.errors())))
        return await _refused(request, ctx, session, user, supplier_id, forms)
    now = ctx.clock()
    await _run(
        uow,
        session,
        user,
        lambda write: workspace.add_note(
            session=write, supplier_id=supplier_id, author=user, text=text, now=now
        ),
    )
    flash(request, "Note added: it shows in the notes and on the timeline.")
    return _back(supplier_id, "notes")


@router.post("/notes/{note_id}/edit", response_class=HTMLResponse)
async def edit_note(
    request: Request,
    note_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    body: Field = "",
    csrf: Field = "",
) -> Response:
    """Only the author's edit is taken (anyone else: 403)."""
    check_csrf(request, csrf)
    note = await workspace.get_note(session=session, note_id=note_id)
    try:
        text = NoteText(body=body)
    except ValidationError as exc:
        key = f"note:{note_id}"
        forms = WorkspaceForms({f"{key}.body": body}, _reasons(key, field_errors(exc.errors())))
        return await _refused(request, ctx, session, user, note.supplier_id, forms)
    now = ctx.clock()
    await _run(
        uow,
        session,
        user,
        lambda write: workspace.edit_note(
            session=write, note_id=note_id, author=user, text=text, now=now
        ),
    )
    flash(request, "Note updated.")
    return _back(note.supplier_id, "notes")


@router.post("/notes/{note_id}/delete")
async def delete_note(
    request: Request,
    note_id: uuid.UUID,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    csrf: Field = "",
) -> Response:
    """The author's, or an admin's (anyone else: 403)."""
    check_csrf(request, csrf)
    supplier_id = await _run(
        uow,
        session,
        user,
        lambda write: workspace.delete_note(session=write, note_id=note_id, by=user),
    )
    flash(request, "Note deleted.")
    return _back(supplier_id, "notes")


# Acting on the account


@router.post("/suppliers/{supplier_id}/tasks", response_class=HTMLResponse)
async def create_task(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    title: Field = "",
    detail: Field = "",
    priority: Field = "medium",
    due_on: Field = "",
    owner_id: Field = "",
    csrf: Field = "",
) -> Response:
    """A hand-made task (reason "manual"), for the chosen owner (default: me)."""
    check_csrf(request, csrf)
    typed = {
        "title": title,
        "detail": detail,
        "priority": priority,
        "due_on": due_on,
        "owner_id": owner_id or str(user.id),
    }
    values = {f"task.{k}": v for k, v in typed.items()}
    try:
        body = ManualTaskIn.model_validate(typed)
    except ValidationError as exc:
        forms = WorkspaceForms(values, _reasons("task", field_errors(exc.errors())))
        return await _refused(request, ctx, session, user, supplier_id, forms)
    now = ctx.clock()
    try:
        task = await _run(
            uow,
            session,
            user,
            lambda write: interventions.create_manual_task(
                session=write, supplier_id=supplier_id, body=body, now=now
            ),
        )
    except ValidationFailed as exc:
        forms = WorkspaceForms(values, _reasons("task", exc.details))
        return await _refused(request, ctx, session, user, supplier_id, forms)
    flash(request, f"Task “{task.title}” created, due {formatting.day(task.due_on)}.")
    return _back(supplier_id, "supplier-tasks")


@router.post("/suppliers/{supplier_id}/playbooks", response_class=HTMLResponse)
async def start_playbook(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    playbook: Field = "",
    csrf: Field = "",
) -> Response:
    """Enrol the supplier by hand; a run already active is refused with why. A snooze does
    not hold a run started by hand."""
    check_csrf(request, csrf)
    now = ctx.clock()
    try:
        started = await _run(
            uow,
            session,
            user,
            lambda write: interventions.start_playbook(
                session=write,
                catalog=ctx.interventions.catalog,
                supplier_id=supplier_id,
                playbook_key=playbook,
                by=user,
                now=now,
            ),
        )
    except ValidationFailed as exc:
        forms = WorkspaceForms({"playbook.playbook": playbook}, _reasons("playbook", exc.details))
        return await _refused(request, ctx, session, user, supplier_id, forms)
    ctx.interventions.wake_worker()
    arm = (
        "control group (the holdout): tracked like the others, sent nothing"
        if started.arm == Arm.CONTROL
        else "its steps go out as the playbook says"
    )
    flash(request, f"{started.playbook.name} started by hand: {arm}.")
    return _back(supplier_id, "outreach")


@router.post("/suppliers/{supplier_id}/snooze", response_class=HTMLResponse)
async def snooze_alerts(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    days: Field = "",
    reason: Field = "",
    csrf: Field = "",
) -> Response:
    """Hold the account's automatic alerts (risk playbooks, team tasks) for 1 to 90 days."""
    check_csrf(request, csrf)
    values = {"snooze.days": days, "snooze.reason": reason}
    try:
        body = SnoozeIn.model_validate({"days": days, "reason": reason})
    except ValidationError as exc:
        forms = WorkspaceForms(values, _reasons("snooze", field_errors(exc.errors())))
        return await _refused(request, ctx, session, user, supplier_id, forms)
    now = ctx.clock()
    snooze = await _run(
        uow,
        session,
        user,
        lambda write: workspace.snooze_alerts(
            session=write, supplier_id=supplier_id, by=user, body=body, now=now
        ),
    )
    flash(
        request,
        f"Alerts snoozed until {formatting.moment(snooze.until)}: automatic risk playbooks "
        "and team tasks for this account wait until then.",
    )
    return _back(supplier_id, "snooze")


@router.post("/suppliers/{supplier_id}/snooze/end")
async def end_snooze(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    csrf: Field = "",
) -> Response:
    check_csrf(request, csrf)
    now = ctx.clock()
    ended = await _run(
        uow,
        session,
        user,
        lambda write: workspace.end_snooze(session=write, supplier_id=supplier_id, now=now),
    )
    ctx.interventions.wake_worker()
    flash(
        request,
        "Snooze ended: what it held is decided again now." if ended else "No snooze was on.",
    )
    return _back(supplier_id, "snooze")


@router.get("/suppliers/{supplier_id}/compose", response_class=HTMLResponse)
async def compose_from_template(
    request: Request,
    supplier_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
    template: str = "",
) -> Response:
    """The profile with its send form filled from a playbook's email template, rendered for
    this supplier: read it, change it, send it (a GET: nothing is written)."""
    draft = await draft_from_template(
        session=session,
        templates=ctx.interventions.templates,
        catalog=ctx.interventions.catalog,
        health=ctx.health,
        milestones=ctx.milestones,
        product_url=ctx.settings.product_url,
        supplier_id=supplier_id,
        template_key=template,
    )
    form = SendForm(
        channel="email", category=draft.category.value, subject=draft.subject, body=draft.body
    )
    context = await supplier_context(ctx=ctx, session=session, supplier_id=supplier_id, form=form)
    context["draft"] = draft
    return render(request, "supplier.html", user=user, page="suppliers", **context)


# Working tasks


async def _patch_task(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: TeamUser,
    task_id: uuid.UUID,
    fields: dict[str, Any],
) -> TaskOut | Response:
    """Apply ``fields`` to the task; a refusal is the error page saying why."""
    try:
        patch = TaskPatch.model_validate(fields)
    except ValidationError as exc:
        reasons = field_errors(exc.errors())
        return _error(
            request, user, 422, "; ".join(f"{d['field']}: {d['reason']}" for d in reasons)
        )
    now = ctx.clock()
    try:
        return await _run(
            uow,
            session,
            user,
            lambda write: interventions.update_task(
                session=write, task_id=task_id, patch=patch, now=now
            ),
        )
    except ValidationFailed as exc:
        return _error(request, user, 422, exc.message)


@router.post("/tasks/{task_id}/snooze")
async def snooze_task(
    request: Request,
    task_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    days: Field = "",
    until: Field = "",
    wake: Field = "",
    csrf: Field = "",
    next: Field = "/tasks",
) -> Response:
    """Snooze for ``days`` days or ``until`` a day (1 to 90 days ahead); ``wake`` ends it."""
    check_csrf(request, csrf)
    if wake:
        fields: dict[str, Any] = {"snoozed_until": None}
    elif until:
        fields = {"snoozed_until": until}
    else:
        fields = {"snooze_days": days or None}
        if not days:
            return _error(request, user, 422, "Choose how many days, or a day, to snooze until.")
    outcome = await _patch_task(request, ctx, session, uow, user, task_id, fields)
    if isinstance(outcome, Response):
        return outcome
    flash(
        request,
        f"“{outcome.title}” snoozed until {formatting.day(outcome.snoozed_until)}."
        if outcome.snoozed_until
        else f"“{outcome.title}” is back in the due lists.",
    )
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/tasks/{task_id}/owner")
async def reassign_task(
    request: Request,
    task_id: uuid.UUID,
    ctx: ContextDep,
    session: SessionDep,
    uow: UnitOfWorkDep,
    user: ActingUser,
    owner_id: Field = "",
    csrf: Field = "",
    next: Field = "/tasks",
) -> Response:
    """Give the task to another enabled admin or manager."""
    check_csrf(request, csrf)
    if not owner_id:
        return _error(request, user, 422, "Choose who the task goes to.")
    outcome = await _patch_task(request, ctx, session, uow, user, task_id, {"owner_id": owner_id})
    if isinstance(outcome, Response):
        return outcome
    names = await interventions.task_names(session=session, tasks=[outcome])
    owner = names.owners.get(outcome.owner_id, "them") if outcome.owner_id else "nobody"
    flash(request, f"“{outcome.title}” reassigned to {owner}.")
    return RedirectResponse(safe_next(next), status_code=303)


def _error(request: Request, user: TeamUser, status_code: int, message: str) -> Response:
    return render(
        request, "error.html", status_code=status_code, user=user, page="tasks", message=message
    )
