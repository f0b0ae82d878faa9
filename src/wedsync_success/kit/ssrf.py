"""Which URLs the service may call on a user's behalf (server-side request forgery rules).

A URL must be ``http`` or ``https``, name a host, carry no credentials, and, unless
private targets are explicitly allowed, every address its host resolves to must be a
public unicast address: loopback, link-local (cloud metadata at 169.254.169.254),
private, shared (100.64/10), reserved, multicast and unspecified addresses are refused,
as are IPv6 forms embedding one (``::ffff:127.0.0.1``, NAT64 ``64:ff9b::/96``).
Host names are read as the resolver reads them: a host in any form ``inet_aton`` accepts
(``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.1``) is that IPv4 address.

The check runs when a URL is stored (webhook endpoints, by the API, resolving the host) or
configured (the marketing collector and campaign webhooks, at start, without DNS:
:func:`check_configured_url`), and again, after DNS resolution, before each request;
:func:`pinned_request_target` then sends the request to the address that was checked, so
a DNS answer that changes between check and connect (rebinding) cannot redirect it
(:mod:`kit.outbound_http` does both for every outbound integration). One setting,
``WEDSYNC_OUTBOUND_ALLOW_PRIVATE``, turns the address rules off (tests, closed networks).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from wedsync_success.kit.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2000
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_INET_ATON_CHARS = frozenset("0123456789abcdefxABCDEFX.")


class UrlRefused(ValidationFailed):
    """A URL the SSRF rules refuse; ``details`` name the field and the reason."""

    def __init__(self, reason: str, *, field: str) -> None:
        super().__init__(f"{field}: {reason}", details=[{"field": field, "reason": reason}])
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked URL: its parts, and the addresses its host resolved to."""

    url: str
    parts: SplitResult
    hostname: str
    port: int
    addresses: tuple[IPAddress, ...]


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be called (None: it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded)
    for flag in (
        "is_loopback",
        "is_link_local",
        "is_multicast",
        "is_unspecified",
        "is_reserved",
        "is_private",
    ):
        if getattr(address, flag):
            return f"{address} is a {flag.removeprefix('is_').replace('_', '-')} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_url_shape(url: str, *, field: str = "url") -> tuple[SplitResult, str, int]:
    """The URL's parts, host and port, or :class:`UrlRefused` naming ``field``."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"must be at most {MAX_URL_LENGTH} characters", field=field)
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UrlRefused("must not contain spaces or control characters", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"is not a valid URL ({exc})", field=field) from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("must be an http or https URL", field=field)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("must not carry credentials (user:password@)", field=field)
    hostname = parts.hostname
    if not hostname:
        raise UrlRefused("must name a host", field=field)
    if "%" in hostname:
        raise UrlRefused("must not name an IPv6 zone", field=field)
    return parts, hostname, port or (443 if parts.scheme == "https" else 80)


def literal_address(hostname: str) -> IPAddress | None:
    """The address ``hostname`` spells, in any form ``inet_aton`` accepts (decimal, hex,
    octal, shortened), or None for a name. The resolver reads such hosts the same way, so
    ``http://2130706433/`` is ``127.0.0.1`` and is checked as such."""
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        pass
    if not hostname or not all(ch in _INET_ATON_CHARS for ch in hostname):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(hostname))
    except OSError:
        return None


def _is_local_name(hostname: str) -> bool:
    """``localhost`` and its subdomains name this machine (RFC 6761), whatever DNS says."""
    name = hostname.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def check_configured_url(url: str, *, allow_private: bool, field: str) -> None:
    """The rules that need no DNS, for a URL read from configuration at start: its shape,
    and, unless private targets are allowed, a literal address (in any spelling) or
    ``localhost`` is refused. Names are resolved and checked before each request."""
    _parts, hostname, _port = check_url_shape(url, field=field)
    if allow_private:
        return
    if _is_local_name(hostname):
        raise UrlRefused(f"refused: {hostname} names this machine (loopback)", field=field)
    address = literal_address(hostname)
    if address is not None:
        reason = address_refusal(address)
        if reason is not None:
            raise UrlRefused(f"refused: {reason}", field=field)


async def resolve(hostname: str, port: int) -> tuple[IPAddress, ...]:
    """Every address ``hostname`` resolves to (literal addresses, in any form
    ``inet_aton`` accepts, resolve to themselves without a DNS query)."""
    literal = literal_address(hostname)
    if literal is not None:
        return (literal,)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    return tuple(seen)


async def check_target(url: str, *, allow_private: bool, field: str = "url") -> Target:
    """Check ``url`` and resolve its host; every resolved address must be allowed."""
    parts, hostname, port = check_url_shape(url, field=field)
    try:
        addresses = await resolve(hostname, port)
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(f"the host does not resolve ({type(exc).__name__})", field=field) from None
    if not addresses:
        raise UrlRefused("the host does not resolve", field=field)
    if not allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                raise UrlRefused(f"refused: {reason}", field=field)
    return Target(url=url, parts=parts, hostname=hostname, port=port, addresses=addresses)


def pinned_request_target(target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL to request (its host replaced by the first checked address), the ``Host``
    header, and the httpx extensions that keep TLS verifying the original host name."""
    address = target.addresses[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{target.port}"
    pinned = urlunsplit(target.parts._replace(netloc=netloc))
    default_port = 443 if target.parts.scheme == "https" else 80
    host_header = (
        target.hostname if target.port == default_port else f"{target.hostname}:{target.port}"
    )
    if ":" in target.hostname:  # an IPv6 literal travels in brackets
        host_header = f"[{target.hostname}]" + (
            "" if target.port == default_port else f":{target.port}"
        )
    extensions = {"sni_hostname": target.hostname} if target.parts.scheme == "https" else {}
    return pinned, {"host": host_header}, extensions
