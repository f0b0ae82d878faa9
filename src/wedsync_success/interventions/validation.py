"""Checks of a playbooks file against the rest of the system: the milestones it names exist,
its email templates render, its step texts use only known placeholders."""

from __future__ import annotations

from wedsync_success.interventions.channels.templates import EmailTemplates
from wedsync_success.interventions.personalisation import PRODUCT_LINKS, SAMPLE, check_text
from wedsync_success.interventions.playbooks import (
    EmailStep,
    InAppStep,
    PlaybookFile,
    SmsStep,
)
from wedsync_success.kit.errors import ConfigError

_SAMPLE_LINKS = {
    "pixel_url": "https://example.invalid/t/o/x.gif",
    "unsubscribe_url": "https://example.invalid/u/x",
}


def check_playbooks(
    catalog: PlaybookFile, *, milestone_keys: set[str], templates: EmailTemplates
) -> list[dict[str, str]]:
    """Every problem as ``{field, reason}``, named like the schema's own errors."""
    problems: list[dict[str, str]] = []
    context = {
        **SAMPLE.as_context(),
        **_SAMPLE_LINKS,
        "links": {name: f"https://example.invalid{path}" for name, path in PRODUCT_LINKS.items()},
    }
    for p_no, playbook in enumerate(catalog.playbooks):
        at = f"playbooks.{p_no}"
        when = playbook.trigger.when
        named = [(f"{at}.trigger.when.milestone", key) for key in (when.milestone or [])] + [
            (f"{at}.trigger.when.missing_milestone", when.missing_milestone),
            (f"{at}.goal.milestone", playbook.goal.milestone),
        ]
        problems.extend(
            {"field": field, "reason": f"no milestone {key!r} is defined"}
            for field, key in named
            if key is not None and key not in milestone_keys
        )
        for s_no, step in enumerate(playbook.steps):
            field = f"{at}.steps.{s_no}"
            if isinstance(step, EmailStep):
                try:
                    templates.render(step.template, context)
                except ConfigError as exc:
                    problems.append({"field": f"{field}.template", "reason": exc.message})
            texts = []
            if isinstance(step, InAppStep):
                texts = [("title", step.title), ("body", step.body)]
            elif isinstance(step, SmsStep):
                texts = [("text", step.text)]
            for name, source in texts:
                reason = check_text(source)
                if reason:
                    problems.append({"field": f"{field}.{name}", "reason": reason})
    return problems
