"""Starting a one-off message from a playbook's email template: the template rendered for
one supplier (its names, top issue, next milestone), for a success manager to read, change
and send through the usual one-off path.

The draft is plain text: its links lead straight to the WedSync app (a one-off body is free
text, so they are not tracked), and the footer and greeting are left to the one-off
template, which adds them around whatever is sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.health.config import HealthConfig
from wedsync_success.interventions.channels.base import Category
from wedsync_success.interventions.channels.templates import EmailTemplates
from wedsync_success.interventions.one_off import ONE_OFF_TEMPLATE
from wedsync_success.interventions.personalisation import PRODUCT_LINKS, personalise
from wedsync_success.interventions.playbooks import EmailStep, PlaybookFile
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.milestones.definitions import MilestoneCatalog
from wedsync_success.milestones.service import progress_of
from wedsync_success.suppliers import repository as suppliers_repository


@dataclass(frozen=True)
class TemplateChoice:
    """An email template the playbooks use, offered to start a message from."""

    key: str
    label: str
    category: Category


@dataclass(frozen=True)
class Draft:
    template: str
    subject: str
    body: str
    category: Category


def template_choices(catalog: PlaybookFile) -> list[TemplateChoice]:
    """The email templates of the configured playbooks, each named after its playbooks."""
    used: dict[str, tuple[list[str], Category]] = {}
    for playbook in catalog.playbooks:
        for step in playbook.steps:
            if isinstance(step, EmailStep) and step.template != ONE_OFF_TEMPLATE:
                names, _ = used.setdefault(step.template, ([], step.category))
                if playbook.name not in names:
                    names.append(playbook.name)
    return [
        TemplateChoice(
            key=key,
            label=f"{key.replace('_', ' ').capitalize()} ({', '.join(names)})",
            category=category,
        )
        for key, (names, category) in sorted(used.items())
    ]


async def draft_from_template(
    *,
    session: AsyncSession,
    templates: EmailTemplates,
    catalog: PlaybookFile,
    health: HealthConfig,
    milestones: MilestoneCatalog,
    product_url: str,
    supplier_id: uuid.UUID,
    template_key: str,
) -> Draft:
    """``template_key`` rendered for the supplier, as a one-off message's subject and body."""
    choice = next((c for c in template_choices(catalog) if c.key == template_key), None)
    if choice is None:
        raise ValidationFailed(
            f"No playbook email template {template_key!r}",
            details=[{"field": "template", "reason": "not a template the playbooks use"}],
        )
    supplier = await suppliers_repository.get(session, supplier_id)
    if supplier is None:
        raise NotFound(f"No supplier with id {supplier_id}")
    contact = (await suppliers_repository.primary_contacts(session, [supplier_id])).get(supplier_id)
    achieved = [
        p
        for p in await progress_of(session=session, catalog=milestones, supplier_id=supplier_id)
        if p.achieved and p.achieved_at is not None
    ]
    latest = max(achieved, key=lambda p: p.achieved_at or supplier.signed_up_at, default=None)
    facts = await personalise(
        session=session,
        supplier=supplier,
        contact=contact,
        health=health,
        milestones=milestones,
        trigger={"name": latest.name} if latest else {},
    )
    product = product_url.rstrip("/")
    subject, body = templates.draft(
        template_key,
        {
            **facts.as_context(),
            "links": {name: f"{product}{path}" for name, path in PRODUCT_LINKS.items()},
            "unsubscribe_url": "",
            "pixel_url": "",
        },
    )
    return Draft(template=template_key, subject=subject, body=body, category=choice.category)
