"""Re-sealing every stored endpoint secret under the first sealing key (``secrets rekey``).

Run after the new key was put first in ``WEDSYNC_SEALING_KEYS`` with the old one after it
(see :mod:`.sealing`): once it has, the old key can be dropped. Every value is opened
before any is written, in the caller's one transaction, so a value no key opens stops the
run with nothing changed; a value already under the first key is left as it is, so a
second run writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.integrations.webhooks import repository
from wedsync_success.integrations.webhooks.sealing import SecretKeyMismatch, SecretSealer

Progress = Callable[[int, int], None]
"""Called with (endpoints done, endpoints in all)."""


@dataclass(frozen=True)
class RekeyResult:
    endpoints: int
    resealed: int
    """Stored values (current and previous secrets) sealed again under the first key."""
    current: int
    """Stored values that already were."""


async def rekey_secrets(
    *, session: AsyncSession, sealer: SecretSealer, progress: Progress | None = None
) -> RekeyResult:
    """Seal every endpoint's secrets again under ``sealer``'s first key (no commit: the
    caller's unit of work owns it). :class:`SecretKeyMismatch` names the endpoint whose
    secret no key opens; nothing is written then."""
    rows = await repository.sealed_secrets(session)
    changes: list[dict[str, Any]] = []
    resealed = current = 0
    for done, (endpoint_id, secret, previous) in enumerate(rows, start=1):
        try:
            new_secret = sealer.reseal(secret)
            new_previous = None if previous is None else sealer.reseal(previous)
        except SecretKeyMismatch as exc:
            raise SecretKeyMismatch(
                f"endpoint {endpoint_id}: {exc.message} Nothing was re-sealed.",
                details=[*exc.details, {"field": "endpoint_id", "reason": str(endpoint_id)}],
            ) from None
        values = [v for v in (secret, previous) if v is not None]
        changed = [v for v in (new_secret, new_previous) if v is not None]
        resealed += len(changed)
        current += len(values) - len(changed)
        if changed:
            changes.append(
                {
                    "id": endpoint_id,
                    "secret": new_secret or secret,
                    "previous_secret": new_previous or previous,
                }
            )
        if progress is not None:
            progress(done, len(rows))
    await repository.set_sealed_secrets(session, changes)
    return RekeyResult(endpoints=len(rows), resealed=resealed, current=current)
