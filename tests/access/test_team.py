"""Team accounts: hashing never blocks the event loop and is bounded, rehash on login,
disabled accounts refused, no hash at import."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from tests.web.signin import EMAIL, PASSWORD, add_user, browser, log_in
from wedsync_success.access import team
from wedsync_success.access.models import TeamUser
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import Unauthorized


class GatedHasher(PasswordHasher):
    """Argon2 whose ``verify`` waits at a gate, counting how many run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)
        self.running = 0
        self.most_at_once = 0
        self.priorities: set[int] = set()
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.priorities.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        self.started.release()
        try:
            self.gate.wait(timeout=30)  # a guard: released by the test long before
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


async def _started(hasher: GatedHasher) -> None:
    """Wait until one more verify has begun (in its worker thread)."""
    assert await asyncio.to_thread(hasher.started.acquire, True, 30), "no hash began"


async def test_other_requests_are_served_while_a_login_hashes(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_user(ctx)
    hasher = GatedHasher()
    monkeypatch.setattr(team, "_hasher", hasher)
    async with browser(ctx) as client:
        form = await client.get("/login")
        assert form.status_code == 200
        login = asyncio.create_task(log_in(client))
        await _started(hasher)
        healthz = await client.get("/healthz")
        # Served while the hash is still waiting at its gate: the loop was free.
        assert healthz.status_code == 200
        assert not hasher.gate.is_set()
        # And the waiting login holds no database connection (a storm cannot drain the pool).
        assert ctx.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        hasher.gate.set()
        assert (await login).status_code == 303


async def test_at_most_hash_workers_hashes_run_at_once(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = GatedHasher()
    monkeypatch.setattr(team, "_hasher", hasher)

    async def attempt(n: int) -> None:
        async with ctx.db.sessions() as session:
            await team.authenticate(session=session, email=f"u{n}@x.example", password="x")

    attempts = [asyncio.create_task(attempt(n)) for n in range(team.HASH_WORKERS + 2)]
    for _ in range(team.HASH_WORKERS):
        await _started(hasher)
    assert hasher.running == team.HASH_WORKERS  # the rest queue for a worker
    hasher.gate.set()
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert all(isinstance(r, Unauthorized) for r in results)
    assert hasher.most_at_once == team.HASH_WORKERS
    assert hasher.priorities == {team.HASH_NICENESS}  # hashing yields the CPU to the loop


async def test_a_disabled_account_is_refused(ctx: AppContext) -> None:
    await add_user(ctx)
    async with ctx.db.transaction() as session:
        user = await session.scalar(select(TeamUser).where(TeamUser.email == EMAIL))
        assert user is not None
        user.disabled_at = ctx.clock()
    async with ctx.db.sessions() as session:
        with pytest.raises(Unauthorized, match="Wrong email or password"):
            await team.authenticate(session=session, email=EMAIL, password=PASSWORD)
    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 401


async def test_a_login_rehashes_a_password_hashed_with_old_parameters(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = team._hasher
    monkeypatch.setattr(team, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192))
    await add_user(ctx)
    monkeypatch.setattr(team, "_hasher", current)
    async with ctx.db.sessions() as session:
        old = await session.scalar(select(TeamUser.password_hash).where(TeamUser.email == EMAIL))
    assert old is not None
    assert current.check_needs_rehash(old)

    async with browser(ctx) as client:
        assert (await log_in(client)).status_code == 303
    async with ctx.db.sessions() as session:
        new = await session.scalar(select(TeamUser.password_hash).where(TeamUser.email == EMAIL))
    assert new is not None
    assert new != old
    assert not current.check_needs_rehash(new)
    assert current.verify(new, PASSWORD)


def test_importing_the_module_computes_no_hash() -> None:
    code = (
        "import wedsync_success.access.team as t; "
        "print(t._dummy_hash.cache_info().currsize, t._pool.cache_info().currsize)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["0", "0"], done.stdout
