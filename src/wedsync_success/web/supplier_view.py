"""What the supplier profile page shows: health, churn, timeline, and its outreach (every
message and decision, open tasks, the "send a message" form).

Shared by the page itself and by the form's POST, which shows the page again with the
reasons when a field is refused.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.context import AppContext
from wedsync_success.health.peers import peer_standing
from wedsync_success.health.repository import history as health_history
from wedsync_success.interventions import service as interventions
from wedsync_success.interventions.channels.base import Category
from wedsync_success.interventions.one_off import ONE_OFF_CHANNELS
from wedsync_success.interventions.repository import InterventionFilters, TaskFilters
from wedsync_success.suppliers.profile import supplier_profile
from wedsync_success.web import formatting
from wedsync_success.web.churn_view import churn_block
from wedsync_success.web.workspace_view import workspace_context

OUTREACH_LIMIT = 50
"""Newest messages shown on the profile (the API pages through all of them)."""
TASK_LIMIT = 20


def form_token() -> str:
    """A fresh one-time token for a send form: a double submit carries the same one."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class SendForm:
    """The "send a message" form as it is shown: its values, refusals and one-time token."""

    token: str = field(default_factory=form_token)
    channel: str = "email"
    category: str = Category.TRANSACTIONAL.value
    subject: str = ""
    body: str = ""
    errors: dict[str, str] = field(default_factory=dict)


async def supplier_context(
    *, ctx: AppContext, session: AsyncSession, supplier_id: uuid.UUID, form: SendForm
) -> dict[str, Any]:
    """Everything ``supplier.html`` renders for one supplier."""
    profile = await supplier_profile(
        session=session,
        ref=str(supplier_id),
        health_config=ctx.health,
        catalog=ctx.milestones,
        event_limit=30,
    )
    points = await health_history(
        session, supplier_id, since=ctx.clock().date() - timedelta(days=365), until=None
    )
    churn = await churn_block(
        session=session, profile=profile, registry_root=ctx.settings.churn_registry, now=ctx.clock()
    )
    outreach = await interventions.list_interventions(
        session=session,
        filters=InterventionFilters(supplier_id=supplier_id),
        cursor=None,
        limit=OUTREACH_LIMIT,
    )
    tasks = await interventions.list_tasks(
        session=session,
        filters=TaskFilters(status="open", supplier_id=supplier_id),
        cursor=None,
        limit=TASK_LIMIT,
    )
    acts = await workspace_context(ctx=ctx, session=session, supplier_id=supplier_id)
    return {
        "profile": profile,
        "churn": churn,
        "history": [{"as_of": p.as_of.isoformat(), "score": p.score} for p in points],
        "timeline": formatting.timeline(profile, notes=acts["notes"]),
        "outreach": outreach,
        "tasks": tasks.items,
        "task_names": await interventions.task_names(
            session=session, tasks=tasks.items, catalog=ctx.interventions.catalog
        ),
        "playbook_names": {p.key: p.name for p in ctx.interventions.catalog.playbooks},
        "form": form,
        "channels": [str(c) for c in ONE_OFF_CHANNELS],
        "categories": [c.value for c in Category],
        "peers": await peer_standing(session=session, peers=ctx.peers, supplier_id=supplier_id),
        **acts,
    }
