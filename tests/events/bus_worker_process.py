"""A worker process of the Redis bus that stalls in its first batch, to be killed there.

``python -m tests.events.bus_worker_process`` with ``BUS_DATABASE_URL``, ``BUS_PREFIX``,
``BUS_TABLE`` and ``BUS_MARKER`` set: it consumes the ``ledger`` group (writing one row per
event into ``BUS_TABLE``), and inside its first batch's transaction, rows written but not
committed, it creates ``BUS_MARKER`` and waits forever.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tests.events.redis_bus import CONSUMED, effect_writer, redis_bus
from wedsync_success.db import create_database
from wedsync_success.events.types import SuccessEvent
from wedsync_success.kit.clock import utc_now


async def main() -> None:
    db = create_database(os.environ["BUS_DATABASE_URL"])
    transport = redis_bus(os.environ["BUS_PREFIX"], claim_idle=float(os.environ["BUS_CLAIM_IDLE"]))
    write = effect_writer(os.environ["BUS_TABLE"])
    marker = Path(os.environ["BUS_MARKER"])

    async def stall(session: AsyncSession, events: Sequence[SuccessEvent], now: datetime) -> None:
        await write(session, events, now)
        marker.write_text(str(len(events)))  # noqa: ASYNC240 - a few bytes, then it stalls
        await asyncio.Event().wait()  # killed here, mid-batch

    transport.subscribe_batch("ledger", stall, CONSUMED)
    await transport.consumer_worker(db=db, name="doomed", clock=utc_now).run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main())
