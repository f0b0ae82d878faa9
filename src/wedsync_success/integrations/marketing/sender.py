"""Sending: a batch to the collector (HTTP basic auth on the write key), or one campaign
webhook; what each answered.

A batch the collector refuses as a whole (400, 413, 422) is split in two and each half
sent again, down to single messages, so one bad message fails alone and the others of its
batch are delivered. Every request goes to the address the SSRF rules checked
(:func:`kit.outbound_http.post_checked`); one refused is a failed send, retried (DNS may
answer otherwise later) until its retry window is spent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime

import httpx

from wedsync_success.integrations.marketing import segment
from wedsync_success.integrations.marketing.campaigns import WebhookTarget
from wedsync_success.integrations.marketing.service import (
    COLLECTOR_URL_FIELD,
    MarketingPolicy,
    SendResult,
)
from wedsync_success.interventions.channels.http_rules import excerpt
from wedsync_success.kit.outbound_http import post_checked
from wedsync_success.kit.retries import retry_after
from wedsync_success.kit.ssrf import UrlRefused
from wedsync_success.kit.standard_webhooks import signature_headers, webhook_signer


def basic_auth(write_key: str) -> str:
    """Segment's scheme: the write key as the user name, no password."""
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


async def send_batch(
    client: httpx.AsyncClient,
    policy: MarketingPolicy,
    items: Sequence[tuple[int, str]],
    *,
    now: datetime,
) -> list[SendResult]:
    """POST ``items`` (message row id, encoded message) as one ``/v1/batch`` request;
    halves of a refused batch are sent again (one result per request that settled)."""
    body = segment.batch_body([text for _, text in items], sent_at=now)
    result = await _post(
        client,
        policy.batch_url,
        body,
        {"authorization": basic_auth(policy.write_key)},
        tuple(i for i, _ in items),
        allow_private=policy.allow_private,
        field=COLLECTOR_URL_FIELD,
        now=now,
    )
    if not result.refused or len(items) == 1:
        return [result]
    half = len(items) // 2
    return [
        *await send_batch(client, policy, items[:half], now=now),
        *await send_batch(client, policy, items[half:], now=now),
    ]


async def send_webhook(
    client: httpx.AsyncClient,
    *,
    row_id: int,
    target: WebhookTarget,
    message_id: str,
    body: dict[str, object],
    allow_private: bool,
    now: datetime,
) -> SendResult:
    """POST a campaign's JSON with ``Idempotency-Key`` (and ``webhook-id``) set to the
    message's stable id; signed the Standard Webhooks way when the campaign has a secret."""
    text = json.dumps(body, separators=(",", ":"), allow_nan=False)
    headers = {"idempotency-key": message_id, "webhook-id": message_id}
    if target.secret is not None:
        headers |= signature_headers(
            signers=[webhook_signer(target.secret)], msg_id=message_id, timestamp=now, body=text
        )
    return await _post(
        client,
        target.url,
        text.encode(),
        headers,
        (row_id,),
        allow_private=allow_private,
        field=target.field,
        now=now,
    )


async def _post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    ids: tuple[int, ...],
    *,
    allow_private: bool,
    field: str,
    now: datetime,
) -> SendResult:
    try:
        response = await post_checked(
            client,
            url,
            content=body,
            headers={"content-type": "application/json", **headers},
            allow_private=allow_private,
            field=field,
        )
    except UrlRefused as exc:
        return SendResult(ids, None, exc.message, None)
    except httpx.TimeoutException as exc:
        return SendResult(ids, None, f"timed out ({type(exc).__name__})", None)
    except httpx.TransportError as exc:
        return SendResult(ids, None, f"unreachable ({type(exc).__name__})", None)
    if response.is_success:
        return SendResult(ids, response.status_code, None, None)
    snippet = excerpt(response.text) if response.content else ""
    return SendResult(
        ids,
        response.status_code,
        f"answered HTTP {response.status_code}: {snippet}".rstrip(": "),
        retry_after(response.headers.get("retry-after"), now=now),
    )
