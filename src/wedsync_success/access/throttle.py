"""Failed sign-in throttling, per account and per client address, stored in the database.

Failures are rows (``login_failures``), so every API process counts the same attempts. The
account is the email as typed (normalised), whether or not an account has it: an unknown
email is throttled exactly like a known one, so the answer never tells which emails exist.
Attempts are checked before the password is hashed, so a throttled storm costs no Argon2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository
from wedsync_success.access.team import normalise_email
from wedsync_success.kit.errors import RateLimited

ACCOUNT, ADDRESS = "account", "address"


@dataclass(frozen=True)
class LoginThrottle:
    """At most ``max_failures`` failed sign-ins per account and per address per ``window``."""

    max_failures: int
    window: timedelta

    @staticmethod
    def _subjects(email: str, address: str) -> dict[str, str]:
        return {ACCOUNT: normalise_email(email)[:320], ADDRESS: address[:320]}

    async def check(
        self, *, session: AsyncSession, email: str, address: str, now: datetime
    ) -> None:
        """Raise :class:`RateLimited` while the account or the address has no attempts left."""
        retry_after = 0.0
        for scope, subject in self._subjects(email, address).items():
            count, earliest = await repository.failures_since(
                session, scope=scope, subject=subject, since=now - self.window
            )
            if count >= self.max_failures and earliest is not None:
                # One attempt frees up when the earliest failure leaves the window.
                retry_after = max(retry_after, (earliest + self.window - now).total_seconds())
        if retry_after > 0:
            seconds = max(1, math.ceil(retry_after))
            raise RateLimited(
                "Too many failed sign-ins. Try again in "
                f"{math.ceil(seconds / 60)} minute{'s' if seconds > 60 else ''}.",
                retry_after=seconds,
            )

    async def failed(
        self, *, session: AsyncSession, email: str, address: str, now: datetime
    ) -> None:
        """Count a failed sign-in against the account and the address."""
        await repository.add_failures(
            session,
            subjects=self._subjects(email, address),
            now=now,
            forget_before=now - self.window,
        )

    async def succeeded(self, *, session: AsyncSession, email: str) -> None:
        """A correct password clears the account's failures (never the address's)."""
        await repository.clear_failures(
            session, scope=ACCOUNT, subject=self._subjects(email, "")[ACCOUNT]
        )
