"""The SMS channel: phone numbers, segment counting, and a Twilio-compatible HTTP adapter.

Provider-specific behaviour, stated once:

- The send is Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form-encoded
  ``To``/``From``/``Body``/``StatusCallback``, HTTP basic auth ``sid:token``).
- Every send carries ``Idempotency-Key: <message.idempotency_key>``. A provider that honours
  it returns the same message for a repeated key, so a retry after a lost answer cannot send
  twice. Twilio's public API ignores the header; a provider in front of it (or the test one)
  honours it.
- :meth:`TwilioSmsAdapter.reconcile` lists the recipient's messages and looks for one whose
  ``idempotency_key`` field is ours. Twilio does not store custom keys, so against Twilio
  itself the listing carries no such field and the answer is UNKNOWN (send again under the
  same key), never a false NOT_SENT. When a status callback URL is configured the key also
  travels in its query (``?key=…``), so status callbacks can be matched to our messages.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import httpx

from wedsync_success.interventions.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentFailure,
    ReconcileOutcome,
    Reconciliation,
    SendResult,
    TemporaryFailure,
)
from wedsync_success.interventions.channels.http_rules import (
    excerpt,
    header_key,
    is_temporary_status,
)
from wedsync_success.kit.errors import ConfigError, ValidationFailed
from wedsync_success.kit.phones import e164

# GSM 03.38: the basic character set (ESC at 0x1B left out: it only introduces the extension
# table) and the extension table, whose characters cost two septets (ESC + the character).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

MAX_SEGMENTS = 10
"""Longer bodies are refused before sending: they are costly and carriers may drop them."""

RECONCILE_MAX_PAGES = 10
RECONCILE_PAGE_SIZE = 100

URL_FIELD = "WEDSYNC_SMS_URL"
FROM_FIELD = "WEDSYNC_SMS_FROM"

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentInfo:
    """How a text travels: its encoding, the parts it is split into, and its length.

    ``characters`` is measured in the encoding's units, the ones the limits count: septets
    for GSM-7 (an extension character is two), UTF-16 code units for UCS-2 (an emoji is two).
    """

    encoding: Encoding
    segments: int
    characters: int


def normalise_phone(raw: str, default_region: str | None) -> str:
    """``raw`` as an E.164 number (``+447911123456``); a national number needs the region."""
    try:
        return e164(raw, default_region)
    except ValueError as exc:
        raise _invalid_phone(str(exc)) from None


def _invalid_phone(reason: str) -> ValidationFailed:
    return ValidationFailed(
        "the phone number is not valid", details=[{"field": "phone", "reason": reason}]
    )


def segment_count(text: str) -> SegmentInfo:
    """How many SMS parts ``text`` takes (160/153 septets in GSM-7, 70/67 units in UCS-2).

    A part never splits an extension character's escape pair or a UTF-16 surrogate pair, as
    handsets and providers keep them whole; an empty text takes no part.
    """
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        costs = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        return SegmentInfo("GSM-7", _parts(costs, single=160, multi=153), sum(costs))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SegmentInfo("UCS-2", _parts(costs, single=70, multi=67), sum(costs))


def _parts(costs: list[int], *, single: int, multi: int) -> int:
    """Parts needed for characters of these costs: one if all fit ``single``, else packed."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts, used = parts + 1, 0
        used += cost
    return parts


class TwilioSmsAdapter:
    """Sends SMS through Twilio's Messages API (or any provider speaking it)."""

    channel = Channel.SMS

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        timeout: float,
        status_callback_url: str | None = None,
    ) -> None:
        self._messages_url = (
            f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        )
        self._from = from_number
        self._status_callback_url = status_callback_url
        self._client = httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def __aenter__(self) -> TwilioSmsAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Post the message; a repeated idempotency key names the same provider message."""
        to = _recipient_phone(message)
        info = segment_count(message.text)
        if info.segments == 0:
            raise PermanentFailure("the SMS body is empty")
        if info.segments > MAX_SEGMENTS:
            raise PermanentFailure(
                f"the SMS body takes {info.segments} segments ({info.encoding}); "
                f"at most {MAX_SEGMENTS} are sent"
            )
        form = {"To": to, "From": self._from, "Body": message.text}
        if self._status_callback_url is not None:
            form["StatusCallback"] = _with_query(
                self._status_callback_url, key=message.idempotency_key
            )
        headers = {"Idempotency-Key": header_key(message.idempotency_key)}
        try:
            response = await self._client.post(self._messages_url, data=form, headers=headers)
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"SMS provider unreachable: {type(exc).__name__}") from exc
        if not response.is_success:
            raise _failure(response)
        body = _json_object(response)
        sid = body.get("sid")
        if not isinstance(sid, str) or not sid:
            # Accepted but unnamed: trying again under the same key is safe and names it.
            raise TemporaryFailure(f"SMS provider answered without a sid: {excerpt(response.text)}")
        return SendResult(
            provider_id=sid, detail={"segments": info.segments, "status": body.get("status")}
        )

    async def reconcile(self, message: OutgoingMessage) -> Reconciliation:
        """Look for our idempotency key among the messages the provider holds for the number."""
        try:
            to = _recipient_phone(message)
        except PermanentFailure:
            return Reconciliation(ReconcileOutcome.NOT_SENT)  # send refuses it before posting
        url: str | None = self._messages_url
        params: dict[str, str] | None = {
            "To": to,
            "From": self._from,
            "PageSize": str(RECONCILE_PAGE_SIZE),
        }
        keys_recorded = True
        pages_read = 0
        while url is not None:
            if pages_read == RECONCILE_MAX_PAGES:
                return Reconciliation(ReconcileOutcome.UNKNOWN)  # more pages than we read
            page = await self._list_page(url, params)
            if page is None:
                return Reconciliation(ReconcileOutcome.UNKNOWN)
            listed, url = page
            pages_read, params = pages_read + 1, None
            for item in listed:
                if "idempotency_key" not in item:
                    keys_recorded = False
                elif item["idempotency_key"] == message.idempotency_key and isinstance(
                    item.get("sid"), str
                ):
                    return Reconciliation(ReconcileOutcome.DELIVERED, provider_id=item["sid"])
        if not keys_recorded:
            return Reconciliation(ReconcileOutcome.UNKNOWN)  # the provider keeps no keys
        return Reconciliation(ReconcileOutcome.NOT_SENT)

    async def _list_page(
        self, url: str, params: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """One page of the listing and the next page's URL; None when it cannot be read."""
        try:
            response = await self._client.get(url, params=params)
        except httpx.TransportError:
            return None
        if not response.is_success:
            return None
        try:
            page = _json_object(response)
        except TemporaryFailure:
            return None
        listed = page.get("messages")
        if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
            return None
        return listed, _next_page(response.url, page.get("next_page_uri"))


def _recipient_phone(message: OutgoingMessage) -> str:
    phone = message.recipient.phone
    if phone is None:
        raise PermanentFailure("the recipient has no phone number")
    try:
        return normalise_phone(phone, None)
    except ValidationFailed as exc:
        raise PermanentFailure(
            f"the recipient's phone is not a valid E.164 number: {exc.details[0]['reason']}"
        ) from None


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _next_page(current: httpx.URL, next_page_uri: object) -> str | None:
    """Twilio's ``next_page_uri`` is a path on the same host; anything else ends the listing."""
    if not isinstance(next_page_uri, str) or not next_page_uri.startswith("/"):
        return None
    return str(current.join(next_page_uri))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TemporaryFailure(
            f"SMS provider answered with no JSON object: {excerpt(response.text)}"
        )
    return body


def _failure(response: httpx.Response) -> TemporaryFailure | PermanentFailure:
    """The failure an unsuccessful answer means, quoting Twilio's error code and message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("code" in body or "message" in body):
        said = f"Twilio error {body.get('code')}: {excerpt(str(body.get('message', '')))}"
    else:
        said = excerpt(response.text)
    reason = f"SMS provider answered HTTP {response.status_code}: {said}"
    if is_temporary_status(response.status_code):
        return TemporaryFailure(reason)
    return PermanentFailure(reason)


def create_sms_adapter_from_url(
    url: str,
    *,
    from_number: str,
    timeout: float = 10.0,
    status_callback_url: str | None = None,
) -> TwilioSmsAdapter:
    """The adapter ``WEDSYNC_SMS_URL`` describes (``https://ACxxx:token@api.twilio.com``).

    Plain ``http`` is accepted for loopback hosts only, so the token never crosses a network
    unencrypted. Errors name the setting and never quote the token.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _config(URL_FIELD, "not a URL (host or port unreadable)") from None
    if parts.scheme not in ("http", "https"):
        raise _config(URL_FIELD, "the scheme must be https (or http to a loopback host)")
    host = parts.hostname
    if not host:
        raise _config(URL_FIELD, "the URL names no host")
    if parts.scheme == "http" and not _is_loopback(host):
        raise _config(URL_FIELD, "plain http is only allowed to a loopback host; use https")
    if not parts.username or not parts.password:
        raise _config(URL_FIELD, "the URL must carry the account SID and auth token as sid:token@")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _config(URL_FIELD, "the URL must have no path, query or fragment")
    if not math.isfinite(timeout) or timeout <= 0:
        raise _config("timeout", "the timeout must be a positive number of seconds")
    try:
        sender = normalise_phone(from_number, None)
    except ValidationFailed as exc:
        raise _config(
            FROM_FIELD, f"the sender must be an E.164 number: {exc.details[0]['reason']}"
        ) from None
    netloc = f"[{host}]" if ":" in host else host
    base_url = f"{parts.scheme}://{netloc}" + (f":{port}" if port is not None else "")
    return TwilioSmsAdapter(
        base_url=base_url,
        account_sid=unquote(parts.username),
        auth_token=unquote(parts.password),
        from_number=sender,
        timeout=timeout,
        status_callback_url=status_callback_url,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config(field: str, reason: str) -> ConfigError:
    return ConfigError(f"{field}: {reason}", details=[{"field": field, "reason": reason}])
