"""HTTP to other teams' systems: one client shape and one way to POST, for every outbound
integration (webhook deliveries, the marketing collector, campaign webhooks).

The client never follows a redirect (a redirect could lead to any address, past the SSRF
check), bounds its connections and each request's time, and says who calls. A POST goes
to the address :mod:`kit.ssrf` checked after resolving the host, not to whatever the
host resolves to when the connection opens (DNS rebinding), with TLS still verifying the
original host name.
"""

from __future__ import annotations

import httpx

from wedsync_success.kit.ssrf import check_target, pinned_request_target


def outbound_client(
    *,
    timeout: float,
    max_connections: int,
    user_agent: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The client of one outbound worker: ``timeout`` seconds a request (connect, each
    read and write), at most ``max_connections`` open at once, no redirects followed."""
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        transport=transport,
        limits=httpx.Limits(max_connections=max_connections),
        headers={"user-agent": user_agent},
    )


async def post_checked(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    allow_private: bool,
    field: str,
) -> httpx.Response:
    """POST ``content`` to ``url`` at the address its host resolves to now, once that
    address passes the SSRF rules (:class:`~kit.ssrf.UrlRefused` naming ``field`` when it
    does not: nothing is sent). Transport errors are the caller's to read."""
    target = await check_target(url, allow_private=allow_private, field=field)
    pinned, host_header, extensions = pinned_request_target(target)
    return await client.post(
        pinned, content=content, headers={**headers, **host_header}, extensions=extensions
    )
