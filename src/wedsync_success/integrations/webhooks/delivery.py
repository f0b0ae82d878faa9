"""Sending one attempt: SSRF check after DNS resolution, signing, the POST, its outcome."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx

from wedsync_success.integrations.webhooks.sealing import SecretSealer
from wedsync_success.integrations.webhooks.service import AttemptResult, Outgoing
from wedsync_success.interventions.channels.http_rules import excerpt
from wedsync_success.kit.clock import Clock
from wedsync_success.kit.outbound_http import post_checked
from wedsync_success.kit.retries import retry_after
from wedsync_success.kit.ssrf import UrlRefused
from wedsync_success.kit.standard_webhooks import signature_headers, webhook_signer


async def send_attempt(
    client: httpx.AsyncClient,
    outgoing: Outgoing,
    *,
    allow_private: bool,
    sealer: SecretSealer,
    clock: Clock,
) -> AttemptResult:
    """POST ``outgoing`` to its endpoint, signed now with every live secret.

    The secrets are opened here, first, and live only for this call: a key that cannot
    open them raises :class:`~.sealing.SecretKeyMismatch` before anything is sent.

    The host is resolved and checked first, and the request goes to the checked address
    (:func:`kit.outbound_http.post_checked`); a refused address is a failed attempt.
    Redirects are not followed (a redirect could lead anywhere).
    """
    signers = [webhook_signer(sealer.open(s)) for s in outgoing.sealed_secrets]
    started_at = clock()
    began = time.perf_counter()
    headers = {
        "content-type": "application/json",
        **signature_headers(
            signers=signers,
            msg_id=outgoing.msg_id,
            timestamp=started_at,
            body=outgoing.body,
        ),
    }
    try:
        response = await post_checked(
            client,
            outgoing.url,
            content=outgoing.body.encode(),
            headers=headers,
            allow_private=allow_private,
            field="url",
        )
    except UrlRefused as exc:
        return _result(started_at, began, error=f"url {exc.reason}")
    except httpx.TimeoutException as exc:
        return _result(started_at, began, error=f"timed out ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return _result(started_at, began, error=f"unreachable ({type(exc).__name__})")
    snippet = excerpt(response.text) if response.content else None
    error = None if response.is_success else f"answered HTTP {response.status_code}"
    return _result(
        started_at,
        began,
        status_code=response.status_code,
        snippet=snippet,
        error=error,
        wait=retry_after(response.headers.get("retry-after"), now=started_at),
    )


def _result(
    started_at: datetime,
    began: float,
    *,
    status_code: int | None = None,
    snippet: str | None = None,
    error: str | None = None,
    wait: timedelta | None = None,
) -> AttemptResult:
    return AttemptResult(
        started_at=started_at,
        duration_ms=round((time.perf_counter() - began) * 1000),
        status_code=status_code,
        response_snippet=snippet,
        error=error,
        retry_after=wait,
    )
