"""Signing secrets sealed at rest: the stored columns never hold a secret, deliveries still
verify with the standardwebhooks library, and a process with another WEDSYNC_SECRET_KEY
sends nothing and says why (no attempt is charged to the receiver)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from tests.conftest import TEST_SECRET_KEY, FakeClock
from tests.integrations.webhooks.conftest import add_endpoint, emit, make_worker
from tests.integrations.webhooks.receiver import receiver
from wedsync_success.context import AppContext
from wedsync_success.integrations.webhooks import service
from wedsync_success.integrations.webhooks.models import WebhookDelivery
from wedsync_success.integrations.webhooks.sealing import (
    SEALED_PREFIX,
    SecretKeyMismatch,
    SecretSealer,
)
from wedsync_success.kit.standard_webhooks import new_secret

OTHER_KEY = "another-secret-key-of-another-deployment-987654"
SEALER = SecretSealer(TEST_SECRET_KEY)


def mismatches() -> float:
    return REGISTRY.get_sample_value("wedsync_webhook_secret_key_mismatches_total") or 0.0


async def stored(ctx: AppContext) -> list[tuple[str, str | None]]:
    """The two secret columns exactly as the database holds them."""
    async with ctx.db.sessions() as session:
        rows = await session.execute(
            text("SELECT secret, previous_secret FROM webhook_endpoints ORDER BY created_at")
        )
        return [(r[0], r[1]) for r in rows]


async def rotate(ctx: AppContext, clock: FakeClock, endpoint_id: uuid.UUID) -> str:
    async with ctx.db.transaction() as session:
        secret, _until = await service.rotate_secret(
            session=session,
            endpoint_id=endpoint_id,
            overlap=ctx.webhooks.policy.rotation_overlap,
            sealer=ctx.webhooks.sealer,
            now=clock(),
        )
    return secret


async def test_the_stored_columns_never_hold_a_secret_and_signatures_still_verify(
    ctx: AppContext, clock: FakeClock
) -> None:
    with receiver(clock) as rx:
        endpoint_id, old = await add_endpoint(ctx, rx.url)
        [(sealed, previous)] = await stored(ctx)
        assert previous is None
        assert sealed.startswith(SEALED_PREFIX)
        assert old not in sealed
        assert old[len("whsec_") :] not in sealed
        assert len(sealed) <= 200  # the column's width
        new = await rotate(ctx, clock, endpoint_id)
        [(sealed_new, sealed_old)] = await stored(ctx)
        assert sealed_old == sealed  # moved, never opened
        assert not any(s in value for s in (old, new) for value in (sealed_new, sealed_old))
        assert SEALER.open(sealed_new) == new
        rx.secrets.extend([old, new])
        await emit(ctx)
        worker = make_worker(ctx, clock)
        try:
            assert await worker.drain() == 1
        finally:
            await worker.aclose()
    [request] = rx.requests
    assert request.verified_by == [old, new]  # verified by the standardwebhooks library
    assert rx.rejected == 0


async def test_a_worker_with_another_key_sends_nothing_and_charges_no_attempt(
    ctx: AppContext, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiver(clock) as rx:
        _, secret = await add_endpoint(ctx, rx.url)
        rx.secrets.append(secret)
        await emit(ctx)
        wrong = make_worker(ctx, clock, name="wrong", sealer=SecretSealer(OTHER_KEY))
        try:
            before = mismatches()
            assert await wrong.drain(max_rounds=1) == 0
        finally:
            await wrong.aclose()
        assert rx.requests == []
        assert mismatches() == before + 1
        logged = capsys.readouterr().out
        assert "webhook_secret_key_mismatch" in logged
        assert "cannot be opened with this WEDSYNC_SECRET_KEY" in logged
        async with ctx.db.sessions() as session:
            [delivery] = await session.scalars(select(WebhookDelivery))
        assert delivery.attempts == 0  # the receiver is not blamed
        assert delivery.last_error is None
        clock.advance(seconds=wrong.lease.total_seconds() + 1)  # the claim runs out
        right = make_worker(ctx, clock, name="right")
        try:
            assert await right.drain() == 1
        finally:
            await right.aclose()
    assert len(rx.requests) == 1
    assert rx.rejected == 0


async def test_concurrent_rotations_keep_both_secrets_sealed_and_in_order(
    ctx: AppContext, clock: FakeClock
) -> None:
    """Rotations lock the endpoint row: whichever commits second keeps the first's secret
    as its previous one; neither is lost or stored in clear."""
    endpoint_id, _ = await add_endpoint(ctx, "https://hooks.example.com/a")
    first, second = await asyncio.gather(*(rotate(ctx, clock, endpoint_id) for _ in range(2)))
    [(sealed, previous)] = await stored(ctx)
    assert previous is not None
    assert {SEALER.open(sealed), SEALER.open(previous)} == {first, second}
    assert first not in sealed + previous
    assert second not in sealed + previous


def test_another_key_gives_a_clear_error_naming_the_setting() -> None:
    sealed = SEALER.seal(new_secret())
    with pytest.raises(SecretKeyMismatch) as caught:
        SecretSealer(OTHER_KEY).open(sealed)
    assert "WEDSYNC_SECRET_KEY" in caught.value.message
    assert caught.value.details == [
        {"field": "WEDSYNC_SECRET_KEY", "reason": "does not open the secret"}
    ]
    with pytest.raises(SecretKeyMismatch, match="not in its sealed form"):
        SEALER.open(new_secret())  # a secret left in clear is refused, not used


@given(secret=st.text(max_size=300))
def test_any_text_round_trips_and_only_with_its_key(secret: str) -> None:
    sealed = SEALER.seal(secret)
    assert SEALER.open(sealed) == secret
    assert sealed.startswith(SEALED_PREFIX)
    with pytest.raises(SecretKeyMismatch):
        SecretSealer(OTHER_KEY).open(sealed)


SEALED_ONCE = SEALER.seal(new_secret())
"""One sealed value for every example, so a failing example fails again when replayed."""


def _token_bytes(value: str) -> bytes | None:
    """The Fernet token's bytes, or None where the text is not base64 at all."""
    try:
        return base64.urlsafe_b64decode(value[len(SEALED_PREFIX) :].encode())
    except (binascii.Error, ValueError):
        return None


@given(position=st.integers(min_value=len(SEALED_PREFIX)), garbage=st.text(min_size=1, max_size=3))
def test_an_altered_sealed_value_never_opens(position: int, garbage: str) -> None:
    sealed = SEALED_ONCE
    at = len(SEALED_PREFIX) + position % (len(sealed) - len(SEALED_PREFIX))
    altered = sealed[:at] + garbage + sealed[at + 1 :]
    if _token_bytes(altered) == _token_bytes(sealed):
        return  # the same token: only base64's unused low bits of the last character moved
    with pytest.raises(SecretKeyMismatch):
        SEALER.open(altered)
