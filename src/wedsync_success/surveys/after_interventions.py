"""CSAT after an intervention: when a playbook run of the treatment arm ends complete or at
its goal (``intervention.exited`` with status ``completed``, ``intervention.goal_reached``),
the supplier's primary contact is asked once per run
(:mod:`~wedsync_success.surveys.automatic`; ``reference`` is the run's id). The control arm
was sent nothing to be asked about, and a run that ended early (the supplier left, another
run superseded it) asks nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.config import Settings
from wedsync_success.events.bus import Transport
from wedsync_success.events.types import SuccessEvent, SuccessEventType
from wedsync_success.interventions.models import Arm, RunStatus
from wedsync_success.surveys.automatic import Ask, ask_once
from wedsync_success.surveys.schemas import SurveyTrigger

CONSUMER = "surveys.csat_after_intervention"
ENDED = (SuccessEventType.INTERVENTION_GOAL_REACHED, SuccessEventType.INTERVENTION_EXITED)
ASKED_AFTER = frozenset({RunStatus.COMPLETED.value, RunStatus.GOAL_REACHED.value})


def asks_of(events: Sequence[SuccessEvent]) -> list[Ask]:
    """One ask per treated run that ended complete or at its goal."""
    asks = []
    for event in events:
        run_id = event.payload.get("run_id")
        if (
            event.supplier_id is not None
            and isinstance(run_id, str)
            and event.payload.get("arm") == Arm.TREATMENT.value
            and event.payload.get("status") in ASKED_AFTER
        ):
            asks.append(
                Ask(
                    supplier_id=event.supplier_id,
                    trigger=SurveyTrigger.INTERVENTION,
                    reference=run_id,
                    occurred_at=event.occurred_at,
                )
            )
    return asks


async def ask_after_interventions(
    session: AsyncSession, events: Sequence[SuccessEvent], now: datetime, *, settings: Settings
) -> None:
    """One CSAT ask per treated run that ended well, not asked about before."""
    await ask_once(session, asks_of(events), settings=settings, now=now)


def subscribe(transport: Transport, settings: Settings) -> None:
    transport.subscribe_batch(
        CONSUMER,
        partial(ask_after_interventions, settings=settings),
        [e.value for e in ENDED],
    )
