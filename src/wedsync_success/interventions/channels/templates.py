"""Email rendering: one subject, text and HTML template per key, from a folder (Jinja2).

A key ``k`` is three files: ``k.subject.txt``, ``k.txt`` and ``k.html`` (HTML autoescaped,
text not; both strict, so a variable the context lacks fails the render). The shipped ones
live in ``defaults/email/``; a deployment can point at its own folder. Every rendered HTML
must show the unsubscribe link and the tracking pixel, which :func:`render_email` checks.

The context every shipped template may use: ``business_name``, ``contact_name``,
``owner_name`` (the account owner at WedSync), ``top_issue`` (plain words),
``next_milestone``, ``unsubscribe_url``, ``pixel_url`` and ``links`` (name → signed URL);
``milestone_celebration`` also reads ``milestone`` and ``one_off`` reads ``subject`` and
``body`` (free text: escaped, blank lines start paragraphs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from wedsync_success.kit.errors import ConfigError

DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "defaults" / "email"

_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def paragraphs(text: str) -> Markup:
    """Free text as HTML: escaped, blank lines separate ``<p>``, single line breaks kept."""
    blocks = _BLANK_LINES.split(text.replace("\r\n", "\n").strip())
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in b.split("\n")))
        for b in blocks
        if b.strip()
    )


class EmailTemplates:
    """The email templates of one folder."""

    def __init__(self, folder: Path = DEFAULT_TEMPLATE_DIR) -> None:
        if not folder.is_dir():
            raise ConfigError(f"Email template folder {folder} does not exist")
        self.folder = folder
        loader = jinja2.FileSystemLoader(folder)
        self._html = jinja2.Environment(
            loader=loader, autoescape=True, undefined=jinja2.StrictUndefined
        )
        self._html.filters["paragraphs"] = paragraphs
        self._text = jinja2.Environment(
            loader=loader,
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._drafts = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.DictLoader({"_footer.txt": ""}), loader]),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
        )

    def has(self, template_key: str) -> bool:
        """The folder holds the three files of ``template_key``."""
        return bool(_KEY.fullmatch(template_key)) and all(
            (self.folder / f"{template_key}{suffix}").is_file()
            for suffix in (".subject.txt", ".txt", ".html")
        )

    def draft(self, template_key: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """The subject and the words of ``template_key``'s text, to start a one-off message
        from: without the footer, and without the greeting line ``Hi <contact_name>,``,
        both of which the one-off template adds around the body itself."""
        if not self.has(template_key):
            raise ConfigError(
                f"Unknown email template {template_key!r}",
                details=[{"field": "template", "reason": template_key}],
            )
        try:
            subject = self._drafts.get_template(f"{template_key}.subject.txt").render(context)
            text = self._drafts.get_template(f"{template_key}.txt").render(context)
        except jinja2.TemplateError as exc:
            raise ConfigError(
                f"Email template {template_key!r} cannot be rendered: {exc}",
                details=[{"field": "template", "reason": template_key}],
            ) from exc
        lines = text.strip().split("\n")
        if lines and lines[0].strip() == f"Hi {context.get('contact_name', '')},":
            lines = lines[1:]
        return " ".join(subject.split()), "\n".join(lines).strip()

    def render(self, template_key: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render ``template_key`` with ``context``; raise :class:`ConfigError` when it fails."""
        if not self.has(template_key):
            raise ConfigError(
                f"Unknown email template {template_key!r} (no {template_key}.subject.txt, "
                f".txt and .html in {self.folder})",
                details=[{"field": "template", "reason": template_key}],
            )
        try:
            subject = self._text.get_template(f"{template_key}.subject.txt").render(context)
            text = self._text.get_template(f"{template_key}.txt").render(context)
            html = self._html.get_template(f"{template_key}.html").render(context)
        except jinja2.TemplateError as exc:
            raise ConfigError(
                f"Email template {template_key!r} cannot be rendered: {exc}",
                details=[{"field": "template", "reason": template_key}],
            ) from exc
        for name in ("unsubscribe_url", "pixel_url"):
            if name not in context or str(escape(context[name])) not in html:
                raise ConfigError(
                    f"Email template {template_key}.html does not use {name}",
                    details=[{"field": "template", "reason": template_key}],
                )
        if str(context["unsubscribe_url"]) not in text:
            raise ConfigError(
                f"Email template {template_key}.txt does not show the unsubscribe link",
                details=[{"field": "template", "reason": template_key}],
            )
        return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)


def render_email(
    template_key: str, context: Mapping[str, Any], *, folder: Path = DEFAULT_TEMPLATE_DIR
) -> RenderedEmail:
    """Render one email from the templates of ``folder`` (the shipped ones by default)."""
    return EmailTemplates(folder).render(template_key, context)
