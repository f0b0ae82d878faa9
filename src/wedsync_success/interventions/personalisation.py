"""What a message says about its supplier: names, the top thing hurting their health, their
next milestone; and rendering a step's short text (SMS, in-app) with it.

Step texts come from the playbooks file, written by the success team: they render in a
sandbox with strict undefined variables, so a typo fails the validation, not a send.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.health import repository as health_repository
from wedsync_success.health.config import HealthConfig
from wedsync_success.health.explanation import explain
from wedsync_success.milestones.definitions import MilestoneCatalog
from wedsync_success.milestones.service import progress_of
from wedsync_success.suppliers.models import Supplier, SupplierUser

_TEXT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_TEAM = "the WedSync team"


@dataclass(frozen=True)
class Personalisation:
    supplier_name: str
    contact_name: str
    owner_name: str
    top_issue: str
    next_milestone: str
    milestone_name: str

    def as_context(self) -> dict[str, Any]:
        """The template variables (``business_name`` and ``milestone`` are the email
        templates' names for ``supplier_name`` and ``milestone_name``)."""
        return {
            **asdict(self),
            "business_name": self.supplier_name,
            "milestone": self.milestone_name,
        }


PRODUCT_LINKS = {
    "dashboard": "/",
    "first_form": "/forms/new",
    "book_call": "/help/book-a-call",
    "update_payment": "/settings/billing",
    "referral": "/referrals",
}
"""Where the links of an email lead in the supplier's WedSync app (each one tracked)."""


SAMPLE = Personalisation(
    supplier_name="Willow & Wren Photography",
    contact_name="Alex",
    owner_name="Priya",
    top_issue="You've had few active days lately.",
    next_milestone="First client journey",
    milestone_name="First client added",
)
"""Used to check that every step text renders when the playbooks file is validated."""


async def personalise(
    *,
    session: AsyncSession,
    supplier: Supplier,
    contact: SupplierUser | None,
    health: HealthConfig,
    milestones: MilestoneCatalog,
    trigger: dict[str, Any],
) -> Personalisation:
    """Everything a template may say about ``supplier`` (a few small queries, one supplier)."""
    owner_name = _TEAM
    if supplier.account_owner_id is not None:
        names = await access_repository.names_of(session, [supplier.account_owner_id])
        owner_name = names.get(supplier.account_owner_id, _TEAM)
    current = await health_repository.current(session, supplier.id)
    top_issue = ""
    if current is not None:
        gaps = explain(current, health, milestones_defined=len(milestones.milestones)).gaps
        top_issue = gaps[0].detail if gaps else ""
    progress = await progress_of(session=session, catalog=milestones, supplier_id=supplier.id)
    pending = sorted((p for p in progress if not p.achieved), key=lambda p: -p.progress)
    return Personalisation(
        supplier_name=supplier.business_name,
        contact_name=(contact.name.split()[0] if contact and contact.name.strip() else "there"),
        owner_name=owner_name,
        top_issue=top_issue,
        next_milestone=pending[0].name if pending else "",
        milestone_name=str(trigger.get("name") or ""),
    )


def render_text(source: str, context: dict[str, Any]) -> str:
    """A step's text with its placeholders filled (plain text: nothing is escaped)."""
    return " ".join(_TEXT.from_string(source).render(context).split())


def check_text(source: str) -> str | None:
    """Why ``source`` cannot render with the known placeholders, or ``None`` when it can."""
    try:
        render_text(source, SAMPLE.as_context())
    except TemplateError as exc:
        return str(exc)
    return None
