"""What the supplier profile shows of the team's own work on the account: notes, the alert
snooze, the playbooks running, and what the "act" forms offer (owners, playbooks, email
templates). ``supplier_view.supplier_context`` adds it to the page's context.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.context import AppContext
from wedsync_success.interventions import repository as interventions_repository
from wedsync_success.interventions import service as interventions
from wedsync_success.interventions.drafts import template_choices
from wedsync_success.interventions.enrolment import is_manual
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.workspace import service as workspace
from wedsync_success.workspace.schemas import SNOOZE_MAX_DAYS

NOTES_SHOWN = 50
SNOOZE_CHOICES = (1, 3, 7, 14, 30, 60, 90)
"""Days offered for an account snooze (any 1 to 90 is accepted)."""
TASK_SNOOZE_CHOICES = (1, 3, 7, 14, 30)


@dataclass(frozen=True)
class WorkspaceForms:
    """The profile's act forms as shown again after a refusal: what was typed, and why
    it was refused, keyed ``form.field`` (``note.body``, ``task.due_on``, ``note:<id>.body``)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunningPlaybook:
    name: str
    enrolled_at: datetime
    arm: str
    started_by: str | None
    """The team member who started it by hand; ``None`` when a trigger did."""


async def workspace_context(
    *, ctx: AppContext, session: AsyncSession, supplier_id: uuid.UUID
) -> dict[str, Any]:
    """The workspace part of ``supplier.html``'s context."""
    now = ctx.clock()
    catalog = ctx.interventions.catalog
    supplier = await suppliers_repository.get(session, supplier_id)
    names = {p.key: p.name for p in catalog.playbooks}
    running = [
        RunningPlaybook(
            name=names.get(r.playbook_key, r.playbook_key),
            enrolled_at=r.enrolled_at,
            arm=r.arm,
            started_by=str(r.trigger.get("by_name") or "a team member")
            if is_manual(r.trigger)
            else None,
        )
        for r in await interventions_repository.active_runs(session, [supplier_id])
    ]
    owner_id = supplier.account_owner_id if supplier else None
    owner_names = await access_repository.names_of(session, [owner_id] if owner_id else [])
    notes = await workspace.list_notes(
        session=session, supplier_id=supplier_id, cursor=None, limit=NOTES_SHOWN
    )
    return {
        "notes": notes.items,
        "more_notes": notes.next_cursor is not None,
        "snooze": await workspace.active_snooze(session=session, supplier_id=supplier_id, now=now),
        "snooze_choices": SNOOZE_CHOICES,
        "snooze_max_days": SNOOZE_MAX_DAYS,
        "running": running,
        "startable": [p for p in catalog.playbooks if p.enabled],
        "assignees": await interventions.assignable_members(session=session),
        "account_owner_id": owner_id,
        "account_owner_name": owner_names.get(owner_id) if owner_id else None,
        "today": now.date(),
        "task_due_default": (now + timedelta(days=1)).date(),
        "templates": template_choices(catalog),
        "draft": None,
        "acts": WorkspaceForms(),
    }


def snooze_dates(today: date) -> list[tuple[int, date]]:
    """The task snooze choices as (days, the day it ends)."""
    return [(days, today + timedelta(days=days)) for days in TASK_SNOOZE_CHOICES]
