"""Team accounts: what a new account needs, and one answer for every failed sign-in."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock
from wedsync_success.access.team import MIN_PASSWORD_LENGTH, authenticate, create_user
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import Unauthorized, ValidationFailed

PASSWORD = "correct horse battery"


async def test_a_new_account_is_checked_field_by_field(ctx: AppContext, clock: FakeClock) -> None:
    async with ctx.db.transaction() as session:
        user = await create_user(
            session=session,
            email=" Ada@Example.com ",
            name=" Ada ",
            password=PASSWORD,
            now=clock.now,
        )
        assert (user.email, user.name, user.created_at) == ("ada@example.com", "Ada", clock.now)
        assert user.password_hash != PASSWORD
    cases = [
        ({"email": "no-at-sign"}, [("email", "not an email address")]),
        ({"email": "a@" + "x" * 319}, [("email", "not an email address")]),
        (
            {"password": "x" * (MIN_PASSWORD_LENGTH - 1)},
            [("password", f"at least {MIN_PASSWORD_LENGTH} characters")],
        ),
        ({"name": "   "}, [("name", "must not be empty")]),
        ({"email": "ADA@example.com"}, [("email", "an account with this email exists")]),
        (
            {"email": "x", "password": "short", "name": ""},
            [
                ("email", "not an email address"),
                ("password", f"at least {MIN_PASSWORD_LENGTH} characters"),
                ("name", "must not be empty"),
            ],
        ),
    ]
    for change, problems in cases:
        fields = {"email": "grace@example.com", "name": "Grace", "password": PASSWORD} | change
        async with ctx.db.sessions() as session:
            with pytest.raises(ValidationFailed, match="Cannot create the account") as refused:
                await create_user(session=session, now=clock.now, **fields)
        assert [(d["field"], d["reason"]) for d in refused.value.details] == problems, change
    async with ctx.db.transaction() as session:  # exactly at the limits is fine
        await create_user(
            session=session,
            email="b@" + "x" * 318,
            name="B",
            password="x" * MIN_PASSWORD_LENGTH,
            now=clock.now,
        )


async def test_every_failed_sign_in_gets_the_same_answer(ctx: AppContext, clock: FakeClock) -> None:
    async with ctx.db.transaction() as session:
        created = await create_user(
            session=session, email="ada@example.com", name="Ada", password=PASSWORD, now=clock.now
        )
    async with ctx.db.sessions() as session:
        signed_in = await authenticate(session=session, email=" ADA@example.com", password=PASSWORD)
        assert signed_in.id == created.id
        for email, password in (
            ("ada@example.com", "wrong password"),
            ("eve@example.com", PASSWORD),
        ):
            with pytest.raises(Unauthorized) as refused:
                await authenticate(session=session, email=email, password=password)
            assert str(refused.value) == "Wrong email or password"
