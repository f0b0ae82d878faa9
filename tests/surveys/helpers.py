"""What the survey delivery tests share: the mailbox type, settings on the real servers, and
lookups of the user and message a survey went to."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.interventions.conftest import intervention_settings, playbooks_config
from tests.interventions.sms_provider import ProviderState
from tests.interventions.smtp_server import Collector
from wedsync_success.config import Settings
from wedsync_success.context import AppContext
from wedsync_success.interventions import preferences
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.models import Intervention
from wedsync_success.suppliers.models import SupplierUser

Mailbox = tuple[Collector, Controller]


def survey_settings(
    database_url: str,
    mailbox: Mailbox,
    sms: tuple[str, ProviderState],
    tmp_path: Path,
    *,
    playbook_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings that deliver through the test SMTP server and SMS provider."""
    return intervention_settings(
        database_url,
        smtp_port=mailbox[1].port,
        sms_url=sms[0],
        playbooks=playbooks_config(tmp_path / "playbooks.yaml", **(playbook_options or {})),
        **overrides,
    )


async def user_of(ctx: AppContext, supplier_id: uuid.UUID) -> uuid.UUID:
    """The (only) user of a seeded supplier."""
    async with ctx.db.sessions() as session:
        found = await session.scalar(
            select(SupplierUser.id).where(SupplierUser.supplier_id == supplier_id)
        )
    assert found is not None
    return found


async def intervention_of(ctx: AppContext, ident: str) -> Intervention:
    """The intervention (message) a survey was sent as."""
    async with ctx.db.sessions() as session:
        row = await session.get(Intervention, uuid.UUID(ident))
    assert row is not None
    return row


async def unsubscribe_from_email(ctx: AppContext, supplier_id: uuid.UUID) -> None:
    """The supplier's user opts out of marketing email."""
    async with ctx.db.transaction() as session:
        await preferences.set_preference(
            session=session,
            supplier_user_id=await user_of(ctx, supplier_id),
            channel=Channel.EMAIL,
            category=Category.MARKETING,
            subscribed=False,
            source="api",
            now=ctx.clock(),
        )
