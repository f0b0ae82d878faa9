"""Signed links in outgoing messages: the open pixel, click redirects, survey answers and
unsubscribe.

Each kind of link is signed with the app's secret key under its own salt, so a token made
for one purpose (or a session cookie) is never accepted for another. The click token carries
its target URL inside the signature: the redirect goes only where the message said, so it
can never be turned into an open redirect.

None of the tokens expire: an email opened, clicked or unsubscribed from a year later must
still work (RFC 8058 asks unsubscribe links to keep working). What limits them is what they
can do: record one open or click of one message, redirect to the one signed target, or
unsubscribe one user from one channel and category. Rotating the secret key invalidates
every link in every email already sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadData, URLSafeSerializer

from wedsync_success.config import Settings, require_secret_key
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.kit.errors import NotFound

OPEN_SALT = "wedsync.interventions.open"
CLICK_SALT = "wedsync.interventions.click"
UNSUBSCRIBE_SALT = "wedsync.interventions.unsubscribe"
SURVEY_SALT = "wedsync.interventions.survey_answer"
MAX_TARGET_CHARS = 2000
"""Longest click target signed into a link (links past ~2,000 characters break in clients)."""


class InvalidLink(NotFound):
    """A tracking or unsubscribe token that this app did not sign (or that was altered)."""

    code = "not_found"


@dataclass(frozen=True)
class Click:
    intervention_id: uuid.UUID
    target: str


@dataclass(frozen=True)
class SurveyAnswer:
    """A score link of a survey email: who answers (the intervention) and with what score."""

    intervention_id: uuid.UUID
    score: int


@dataclass(frozen=True)
class Unsubscribe:
    supplier_user_id: uuid.UUID
    channel: Channel
    category: Category


def check_target(target: str) -> str:
    """``target`` if it is an absolute http(s) URL a redirect may go to; else ValueError."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(target) > MAX_TARGET_CHARS:
        raise ValueError(f"a click target must be an absolute http(s) URL: {target[:80]!r}")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        raise ValueError("a click target must not contain spaces or control characters")
    return target


class TrackingLinks:
    """Makes and checks the signed links of outgoing messages."""

    def __init__(self, secret_key: str, public_base_url: str) -> None:
        self.base = public_base_url.rstrip("/")
        self._open = URLSafeSerializer(secret_key, salt=OPEN_SALT)
        self._click = URLSafeSerializer(secret_key, salt=CLICK_SALT)
        self._unsubscribe = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT)
        self._survey = URLSafeSerializer(secret_key, salt=SURVEY_SALT)

    def pixel_url(self, intervention_id: uuid.UUID) -> str:
        return f"{self.base}/t/o/{self._open.dumps(intervention_id.hex)}.gif"

    def click_url(self, intervention_id: uuid.UUID, target: str) -> str:
        token = self._click.dumps([intervention_id.hex, check_target(target)])
        return f"{self.base}/t/c/{token}"

    def unsubscribe_url(
        self, supplier_user_id: uuid.UUID, channel: Channel, category: Category
    ) -> str:
        token = self._unsubscribe.dumps([supplier_user_id.hex, channel.value, category.value])
        return f"{self.base}/u/{token}"

    def survey_answer_url(self, intervention_id: uuid.UUID, score: int) -> str:
        """The link that answers a survey email with ``score`` (one link per score)."""
        token = self._survey.dumps([intervention_id.hex, str(score)])
        return f"{self.base}/s/{token}"

    def verify_open(self, token: str) -> uuid.UUID:
        """The intervention a pixel token names; :class:`InvalidLink` if it is not ours."""
        (ident,) = _fields(_loads(self._open, token), 1)
        return _uuid(ident)

    def verify_click(self, token: str) -> Click:
        """The intervention and target a click token names; :class:`InvalidLink` if not ours."""
        ident, target = _fields(_loads(self._click, token), 2)
        try:
            return Click(intervention_id=_uuid(ident), target=check_target(target))
        except ValueError:
            raise _invalid() from None

    def verify_survey_answer(self, token: str) -> SurveyAnswer:
        """The survey message and score a link names; :class:`InvalidLink` if not ours."""
        ident, score = _fields(_loads(self._survey, token), 2)
        if not score.isascii() or not score.isdigit() or len(score) > 2:
            raise _invalid()
        return SurveyAnswer(intervention_id=_uuid(ident), score=int(score))

    def verify_unsubscribe(self, token: str) -> Unsubscribe:
        """Who unsubscribes from what; :class:`InvalidLink` if the token is not ours."""
        ident, channel, category = _fields(_loads(self._unsubscribe, token), 3)
        try:
            return Unsubscribe(
                supplier_user_id=_uuid(ident), channel=Channel(channel), category=Category(category)
            )
        except ValueError:
            raise _invalid() from None


def _invalid() -> InvalidLink:
    return InvalidLink(
        "This link is not valid", details=[{"field": "token", "reason": "not a link we made"}]
    )


def _loads(serializer: URLSafeSerializer, token: str) -> Any:
    """The signed value (the signature is checked before anything is decoded)."""
    try:
        return serializer.loads(token)
    except (BadData, UnicodeError, ValueError):
        raise _invalid() from None


def _fields(value: Any, count: int) -> list[str]:
    """A signed value as its ``count`` string fields (a pixel token signs a bare string)."""
    fields = [value] if isinstance(value, str) else value
    if not isinstance(fields, list) or len(fields) != count:
        raise _invalid()
    if not all(isinstance(f, str) for f in fields):
        raise _invalid()
    return fields


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=value)
    except ValueError:
        raise _invalid() from None


def tracking_links(settings: Settings) -> TrackingLinks:
    """The links of this deployment: its secret key and public address."""
    return TrackingLinks(require_secret_key(settings), settings.public_base_url)


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers offering one-click unsubscribe at ``url`` (POSTed to)."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
