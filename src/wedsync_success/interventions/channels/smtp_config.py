"""Where email goes: the SMTP server URL (``WEDSYNC_SMTP_URL``) and the sender
(``WEDSYNC_MAIL_FROM``), parsed and validated once at start.

``smtp://host[:port]`` is plain SMTP (port 25), ``smtp://host:587?starttls=1`` upgrades with
STARTTLS (required: a server that does not offer it is an error, not a silent downgrade), and
``smtps://user:pass@host[:465]`` is implicit TLS. Credentials are percent-decoded; they are
refused on a plain connection, which would send them in clear.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

from wedsync_success.kit.errors import ConfigError

SMTP_URL_FIELD = "WEDSYNC_SMTP_URL"
MAIL_FROM_FIELD = "WEDSYNC_MAIL_FROM"

_HOST_NAME = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


class Security(enum.StrEnum):
    PLAIN = "plain"
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS from the first byte (smtps)


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server; the password never shows in ``repr``."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _invalid(field_name: str, reason: str) -> ConfigError:
    return ConfigError(
        f"{field_name} is invalid: {reason}", details=[{"field": field_name, "reason": reason}]
    )


def _has_control_or_space(value: str) -> bool:
    return any(ch.isspace() or not ch.isprintable() for ch in value)


def _valid_host(host: str) -> bool:
    if _HOST_NAME.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def smtp_config_from_url(url: str) -> SmtpConfig:
    """Parse ``WEDSYNC_SMTP_URL``; raise :class:`ConfigError` naming the field and the reason."""
    if not url:
        raise _invalid(SMTP_URL_FIELD, "it is empty")
    if _has_control_or_space(url):
        raise _invalid(SMTP_URL_FIELD, "it contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise _invalid(SMTP_URL_FIELD, f"it is not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtps"}:
        raise _invalid(SMTP_URL_FIELD, "the scheme must be smtp:// or smtps://")
    if not host:
        raise _invalid(SMTP_URL_FIELD, "it names no host")
    if not _valid_host(host):
        raise _invalid(SMTP_URL_FIELD, f"{host!r} is not a host name or IP address")
    if parts.path not in {"", "/"} or parts.fragment:
        raise _invalid(SMTP_URL_FIELD, "it must have no path or fragment")
    if port == 0:
        raise _invalid(SMTP_URL_FIELD, "the port must be between 1 and 65535")
    security = Security.TLS if scheme == "smtps" else Security.PLAIN
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name != "starttls":
            raise _invalid(SMTP_URL_FIELD, f"unknown query parameter {name!r} (only starttls)")
        if value.lower() not in _TRUE | _FALSE:
            raise _invalid(SMTP_URL_FIELD, "starttls must be 1 or 0")
        if value.lower() in _TRUE:
            if scheme == "smtps":
                raise _invalid(SMTP_URL_FIELD, "starttls cannot be combined with smtps://")
            security = Security.STARTTLS
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None) or username == "":
        raise _invalid(SMTP_URL_FIELD, "credentials need both a user name and a password")
    if username is not None and security is Security.PLAIN:
        raise _invalid(
            SMTP_URL_FIELD,
            "credentials would be sent in clear: use smtps:// or ?starttls=1",
        )
    default_port = {Security.PLAIN: 25, Security.STARTTLS: 587, Security.TLS: 465}[security]
    return SmtpConfig(
        host=host,
        port=port if port is not None else default_port,
        security=security,
        username=username,
        password=password,
    )


def mail_from_address(value: str) -> Address:
    """Parse ``WEDSYNC_MAIL_FROM`` (``Name <addr@domain>`` or ``addr@domain``)."""
    if _has_control_or_space(value.replace(" ", "")):
        raise _invalid(MAIL_FROM_FIELD, "it contains control characters")
    name, addr = parseaddr(value)
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or "@" in local:
        raise _invalid(MAIL_FROM_FIELD, "it must be an address like 'WedSync <success@domain>'")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid(MAIL_FROM_FIELD, f"{domain!r} is not a valid domain") from None
    if not _HOST_NAME.fullmatch(ascii_domain):
        raise _invalid(MAIL_FROM_FIELD, f"{domain!r} is not a valid domain")
    try:
        return Address(display_name=name, username=local, domain=ascii_domain)
    except (ValueError, IndexError) as exc:
        raise _invalid(MAIL_FROM_FIELD, f"it is not a valid address ({exc})") from None
