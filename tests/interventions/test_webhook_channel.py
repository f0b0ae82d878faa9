"""The webhook channel: Standard Webhooks signatures and failure classes, against a receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.conftest import FakeClock
from tests.interventions.webhook_receiver import ReceiverState, webhook_receiver
from wedsync_success.interventions.channels.base import (
    Category,
    Channel,
    OutgoingMessage,
    PermanentFailure,
    Recipient,
    ReconcileOutcome,
    TemporaryFailure,
)
from wedsync_success.interventions.channels.webhook import (
    WebhookAdapter,
    encode_payload,
)
from wedsync_success.kit.clock import utc_now
from wedsync_success.kit.errors import ConfigError
from wedsync_success.kit.standard_webhooks import signature_headers, webhook_signer

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two byte").decode()


def message(key: str = "run-1:step-1", payload: dict[str, Any] | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=key,
        channel=Channel.WEBHOOK,
        category=Category.TRANSACTIONAL,
        recipient=Recipient(supplier_id="s-1", supplier_user_id=None, name="Ada"),
        payload={"type": "supplier.at_risk", "supplier_id": "s-1"} if payload is None else payload,
    )


@pytest.fixture
def receiver() -> Iterator[tuple[str, ReceiverState]]:
    with webhook_receiver(SECRET) as served:
        yield served


@pytest.fixture
async def adapter(receiver: tuple[str, ReceiverState]) -> AsyncIterator[WebhookAdapter]:
    async with WebhookAdapter(
        url=receiver[0], secret=SECRET, timeout=5, allow_private=True
    ) as made:
        yield made


async def test_a_delivery_is_signed_and_verifies_at_the_receiver(
    adapter: WebhookAdapter, receiver: tuple[str, ReceiverState]
) -> None:
    payload = {"type": "supplier.at_risk", "score": 31.5, "names": ["Ada", "Zoë"]}
    result = await adapter.send(message("run-1:step-3", payload))
    [delivery] = receiver[1].deliveries
    assert delivery.payload == payload
    assert delivery.body == b'{"type":"supplier.at_risk","score":31.5,"names":["Ada","Zo\\u00eb"]}'
    assert delivery.headers["webhook-id"] == "run-1:step-3"
    assert delivery.headers["content-type"] == "application/json"
    assert result.provider_id == "run-1:step-3"
    assert result.detail == {"status_code": 204}


async def test_the_signature_is_hmac_sha256_of_id_timestamp_body(
    receiver: tuple[str, ReceiverState],
) -> None:
    clock = FakeClock(utc_now().replace(microsecond=0))
    async with WebhookAdapter(
        url=receiver[0], secret=SECRET, timeout=5, allow_private=True, clock=clock
    ) as adapter:
        await adapter.send(message())
    [delivery] = receiver[1].deliveries
    timestamp = str(int(clock.now.timestamp()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"run-1:step-1.{timestamp}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert delivery.headers["webhook-timestamp"] == timestamp
    assert delivery.headers["webhook-signature"] == f"v1,{expected}"


async def test_a_receiver_with_another_secret_refuses_and_that_is_permanent(
    receiver: tuple[str, ReceiverState],
) -> None:
    other = "whsec_" + base64.b64encode(b"another secret entirely, 32 byte").decode()
    async with WebhookAdapter(
        url=receiver[0], secret=other, timeout=5, allow_private=True
    ) as adapter:
        with pytest.raises(PermanentFailure, match="HTTP 401: bad signature"):
            await adapter.send(message())
    assert receiver[1].rejected == 1
    assert receiver[1].deliveries == []


async def test_a_stale_timestamp_is_refused_by_the_receiver(
    receiver: tuple[str, ReceiverState],
) -> None:
    clock = FakeClock(utc_now() - timedelta(minutes=10))
    async with WebhookAdapter(
        url=receiver[0], secret=SECRET, timeout=5, allow_private=True, clock=clock
    ) as adapter:
        with pytest.raises(PermanentFailure, match="401"):
            await adapter.send(message())


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_retryable_answers_are_temporary_failures(
    adapter: WebhookAdapter, receiver: tuple[str, ReceiverState], status: int
) -> None:
    receiver[1].status = status
    with pytest.raises(TemporaryFailure, match=f"HTTP {status}: answer"):
        await adapter.send(message())


@pytest.mark.parametrize("status", [301, 400, 404, 410, 422])
async def test_other_answers_are_permanent_failures(
    adapter: WebhookAdapter, receiver: tuple[str, ReceiverState], status: int
) -> None:
    receiver[1].status = status
    with pytest.raises(PermanentFailure, match=f"HTTP {status}"):
        await adapter.send(message())


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_any_2xx_is_delivered(
    adapter: WebhookAdapter, receiver: tuple[str, ReceiverState], status: int
) -> None:
    receiver[1].status = status
    assert (await adapter.send(message())).detail == {"status_code": status}


async def test_an_unreachable_receiver_is_a_temporary_failure() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{blocker.getsockname()[1]}/hooks"
        async with WebhookAdapter(url=url, secret=SECRET, timeout=5, allow_private=True) as adapter:
            with pytest.raises(TemporaryFailure, match="ConnectError"):
                await adapter.send(message())


async def test_a_receiver_that_does_not_answer_in_time_is_a_temporary_failure(
    receiver: tuple[str, ReceiverState],
) -> None:
    receiver[1].hold = threading.Event()
    async with WebhookAdapter(
        url=receiver[0], secret=SECRET, timeout=0.2, allow_private=True
    ) as adapter:
        with pytest.raises(TemporaryFailure, match="ReadTimeout"):
            await adapter.send(message())
    receiver[1].hold.set()


@pytest.mark.parametrize(
    ("outgoing", "reason"),
    [
        (message(payload={"score": float("nan")}), "not JSON"),
        (message(payload={"when": datetime(2026, 1, 1, tzinfo=UTC)}), "not JSON"),
        (message("key with spaces"), "idempotency key"),
        (message("clé"), "idempotency key"),
    ],
)
async def test_messages_that_cannot_go_fail_permanently_before_sending(
    adapter: WebhookAdapter,
    receiver: tuple[str, ReceiverState],
    outgoing: OutgoingMessage,
    reason: str,
) -> None:
    with pytest.raises(PermanentFailure, match=reason):
        await adapter.send(outgoing)
    assert receiver[1].deliveries == []
    assert receiver[1].rejected == 0


async def test_reconcile_is_unknown_because_receivers_dedupe_on_the_id(
    adapter: WebhookAdapter,
) -> None:
    assert (await adapter.reconcile(message())).outcome is ReconcileOutcome.UNKNOWN


async def test_a_repeated_send_carries_the_same_webhook_id(
    adapter: WebhookAdapter, receiver: tuple[str, ReceiverState]
) -> None:
    await adapter.send(message("run-2:step-1"))
    await adapter.send(message("run-2:step-1"))
    ids = [d.headers["webhook-id"] for d in receiver[1].deliveries]
    assert ids == ["run-2:step-1", "run-2:step-1"]


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "secret",
        "whsec_",
        "whsec_!!!!",
        "whsec_a",
        "whsec_" + base64.b64encode(b"twenty-three bytes long").decode(),
        base64.b64encode(b"no prefix, though long enough to pass").decode(),
    ],
)
def test_malformed_or_short_secrets_are_config_errors(secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookAdapter(url="http://127.0.0.1:9/hooks", secret=secret, timeout=5, allow_private=True)
    assert caught.value.details[0]["field"] == "secret"


def test_a_long_enough_secret_is_accepted_unpadded() -> None:
    encoded = base64.b64encode(b"twenty-five bytes long!!!").decode().rstrip("=")
    assert webhook_signer("whsec_" + encoded).sign("m", utc_now(), "{}").startswith("v1,")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hooks", "127.0.0.1:9/hooks", "http:///hooks"])
def test_urls_that_are_not_http_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookAdapter(url=url, secret=SECRET, timeout=5)
    assert caught.value.details[0]["field"] == "url"


def test_the_timestamp_is_the_instant_whatever_the_clock_zone() -> None:
    signer = webhook_signer(SECRET)
    instant = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    elsewhere = instant.astimezone(timezone(timedelta(hours=2)))
    headers = signature_headers(signers=[signer], msg_id="m", timestamp=elsewhere, body="{}")
    assert headers == signature_headers(signers=[signer], msg_id="m", timestamp=instant, body="{}")
    assert headers["webhook-timestamp"] == str(int(instant.timestamp()))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.text(min_size=1))
def test_the_signature_verifies_for_any_json_payload(payload: dict[str, Any], msg_id: str) -> None:
    body = encode_payload(payload)
    headers = signature_headers(
        signers=[webhook_signer(SECRET)], msg_id=msg_id, timestamp=utc_now(), body=body
    )
    assert Webhook(SECRET).verify(body, headers) == json.loads(json.dumps(payload))
    tampered = body[:-1] + ("]" if body.endswith("}") else "}")
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(SECRET).verify(tampered, headers)


async def test_sends_run_concurrently(
    adapter: WebhookAdapter, receiver: tuple[str, ReceiverState]
) -> None:
    await asyncio.gather(*(adapter.send(message(f"run-3:step-{n}")) for n in range(10)))
    assert sorted(d.headers["webhook-id"] for d in receiver[1].deliveries) == sorted(
        f"run-3:step-{n}" for n in range(10)
    )


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "[::1]", "2130706433"]
)
def test_a_private_target_is_refused_at_start_naming_its_field(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookAdapter(
            url=f"http://{host}:9/hooks", secret=SECRET, timeout=5, field="webhooks.crm.url"
        )
    [detail] = caught.value.details
    assert detail["field"] == "webhooks.crm.url"
    assert detail["reason"].startswith("refused: ")


async def test_a_name_resolving_to_a_private_address_is_refused_before_the_post(
    receiver: tuple[str, ReceiverState],
) -> None:
    """A host name passes the start check (no DNS then); the address it resolves to is
    checked before each POST, and a refused one is a permanent failure: nothing is sent."""
    name = socket.gethostname()
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if not any(ipaddress.ip_address(a).is_private for a in resolved):
        pytest.skip(f"this machine's name {name!r} resolves to no private address")
    port = receiver[0].split(":")[2].split("/")[0]
    url = f"http://{name}:{port}/hooks"
    async with WebhookAdapter(
        url=url, secret=SECRET, timeout=5, field="webhooks.crm.url"
    ) as strict:
        with pytest.raises(PermanentFailure, match=r"webhooks\.crm\.url: refused: "):
            await strict.send(message())
    assert receiver[1].deliveries == []
    assert receiver[1].rejected == 0
    async with WebhookAdapter(url=url, secret=SECRET, timeout=5, allow_private=True) as allowed:
        await allowed.send(message())
    assert len(receiver[1].deliveries) == 1
