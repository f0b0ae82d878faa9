"""API keys: listed oldest first, revoked keys refused, unknown ids named in the error."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import FakeClock
from wedsync_success.access.models import ApiKey
from wedsync_success.access.service import (
    Scope,
    authenticate,
    authorise,
    create_key,
    list_keys,
    parse_scopes,
    revoke_key,
)
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed


async def test_keys_are_listed_oldest_first_and_a_revoked_one_is_refused(
    ctx: AppContext, clock: FakeClock
) -> None:
    async with ctx.db.transaction() as session:
        for name in ("second", "first", "third"):
            clock.advance(minutes=-1 if name == "first" else 1)
            await create_key(session=session, name=name, scopes=["read"], now=clock.now)
    async with ctx.db.transaction() as session:
        keys = await list_keys(session=session)
        assert [k.name for k in keys] == ["first", "second", "third"]
        await revoke_key(session=session, key_id=keys[0].id, now=clock.now)
    async with ctx.db.sessions() as session:
        assert [k.revoked_at is not None for k in await list_keys(session=session)] == [
            True,
            False,
            False,
        ]


async def test_revoked_keys_stop_authenticating(ctx: AppContext, clock: FakeClock) -> None:
    async with ctx.db.transaction() as session:
        issued = await create_key(session=session, name="ci", scopes=["ingest"], now=clock.now)
    async with ctx.db.transaction() as session:
        key = await authenticate(session=session, secret=issued.secret)
        assert key.id == issued.id
        await revoke_key(session=session, key_id=issued.id, now=clock.now)
    async with ctx.db.sessions() as session:
        with pytest.raises(Unauthorized, match="revoked"):
            await authenticate(session=session, secret=issued.secret)
        with pytest.raises(Unauthorized, match="Missing API key"):
            await authenticate(session=session, secret="")


async def test_revoking_an_unknown_key_names_it(ctx: AppContext, clock: FakeClock) -> None:
    missing = uuid.uuid4()
    async with ctx.db.sessions() as session:
        with pytest.raises(NotFound, match=str(missing)):
            await revoke_key(session=session, key_id=missing, now=clock.now)


def test_scopes_are_validated_deduplicated_and_admin_carries_all() -> None:
    assert parse_scopes([" read", "ingest", "read"]) == ["ingest", "read"]
    with pytest.raises(ValidationFailed, match="'write'") as unknown:
        parse_scopes(["write"])
    assert unknown.value.details == [
        {"field": "scope", "reason": "must be one of ingest, read, act, inapp, admin"}
    ]
    with pytest.raises(ValidationFailed) as empty:
        parse_scopes([])
    assert str(empty.value) == "An API key needs at least one scope"
    assert empty.value.details == [{"field": "scope", "reason": "at least one is required"}]


async def test_an_issued_key_is_a_256_bit_secret_shown_once(
    ctx: AppContext, clock: FakeClock
) -> None:
    async with ctx.db.transaction() as session:
        issued = await create_key(session=session, name="etl", scopes=["read"], now=clock.now)
        again = await create_key(session=session, name="etl", scopes=["read"], now=clock.now)
    assert issued.secret.startswith("wss_")
    assert len(issued.secret) == len("wss_") + 43  # 32 random bytes, URL-safe base64
    assert (issued.name, issued.scopes) == ("etl", ["read"])
    assert issued.id != again.id
    assert issued.secret != again.secret
    async with ctx.db.sessions() as session:
        (stored,) = [k for k in await list_keys(session=session) if k.id == issued.id]
    assert stored.prefix == issued.secret[:12]
    assert stored.key_hash != issued.secret
    with pytest.raises(Unauthorized) as missing:
        async with ctx.db.sessions() as session:
            await authenticate(session=session, secret=None)
    assert str(missing.value) == "Missing API key: send it as 'Authorization: Bearer <key>'"


def test_a_key_needs_the_scope_or_admin() -> None:
    reader, admin = ApiKey(scopes=["read"]), ApiKey(scopes=["admin"])
    authorise(reader, Scope.READ)
    for scope in Scope:
        authorise(admin, scope)
    with pytest.raises(Forbidden, match="lacks the 'ingest' scope") as refused:
        authorise(reader, Scope.INGEST)
    assert refused.value.details == [{"field": "scope", "reason": "'ingest' required"}]
