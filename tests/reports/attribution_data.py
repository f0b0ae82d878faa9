"""A small hand-made history for the attribution report, with its credit worked out by
hand in ``test_attribution.py``: the report's window is May 2026, 30-day touch windows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.factories import event
from tests.reports.histories import P, store
from wedsync_success.activity.service import store_batch
from wedsync_success.context import AppContext
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEventType
from wedsync_success.interventions.models import Arm, Intervention, PlaybookRun, RunStatus

E = SuccessEventType


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


HISTORIES = {
    # an upgrade on 10 May, 2,000 more a month
    "upgrader": [P("starter", at(1, 1, 0), at(5, 10, 0), 2900), P("pro", at(5, 10, 0), None, 4900)],
    # an annual plan renewed on 20 May at the same price
    "renewer": [
        P("pro", datetime(2025, 5, 20, tzinfo=UTC), at(5, 20, 0), 4900),
        P("pro", at(5, 20, 0), None, 4900),
    ],
    # back after a two-month lapse at a higher price: a reactivation, no conversion
    "returner": [
        P("starter", datetime(2025, 1, 1, tzinfo=UTC), at(3, 1, 0), 2900),
        P("pro", at(5, 5, 0), None, 4900),
    ],
    # renewed on 1 May (the window's first instant) with nothing before it; again on
    # 1 June, outside the window
    "quiet": [
        P("starter", at(4, 1, 0), at(5, 1, 0), 2900),
        P("starter", at(5, 1, 0), at(6, 1, 0), 2900),
        P("starter", at(6, 1, 0), None, 2900),
    ],
    "referrer": [P("pro", datetime(2025, 1, 1, tzinfo=UTC), None, 4900)],
}


def _run(supplier_id: uuid.UUID, arm: Arm, enrolled: datetime) -> PlaybookRun:
    return PlaybookRun(
        id=uuid.uuid4(),
        playbook_key="upsell",
        goal_group="upsell",
        supplier_id=supplier_id,
        arm=arm,
        status=RunStatus.COMPLETED,
        trigger={"event": "supplier.milestone_achieved"},
        enrolled_at=enrolled,
        ended_at=enrolled,
        mrr_minor_at_enrolment=2900,
        currency="GBP",
    )


def _message(
    supplier_id: uuid.UUID,
    run: PlaybookRun | None,
    sent: datetime,
    *,
    clicked: datetime | None = None,
) -> Intervention:
    return Intervention(
        idempotency_key=f"{uuid.uuid4()}",
        run_id=run.id if run else None,
        step_no=1 if run else None,
        playbook_key=run.playbook_key if run else None,
        supplier_id=supplier_id,
        channel="email",
        category="marketing",
        template="upsell",
        status="sent",
        created_at=sent,
        updated_at=sent,
        sent_at=sent,
        clicked_at=clicked,
    )


async def store_history(ctx: AppContext) -> dict[str, uuid.UUID]:
    ids = await store(ctx, HISTORIES)
    up, renew, back, ref = ids["upgrader"], ids["renewer"], ids["returner"], ids["referrer"]
    events = [
        (up, E.MILESTONE_ACHIEVED, at(4, 5)),  # 35 days before: outside the window
        (up, E.HEALTH_IMPROVED, at(4, 15)),
        (up, E.MILESTONE_ACHIEVED, at(5, 10, 0)),  # at the conversion's instant: not before
        (up, E.HEALTH_IMPROVED, at(5, 12)),  # after
        (renew, E.MILESTONE_ACHIEVED, at(5, 1)),
        (renew, E.MILESTONE_ACHIEVED, at(5, 2)),
        (renew, E.HEALTH_DECLINED, at(5, 10)),  # not a touch
        (renew, E.SUCCESS_CHAMPION, at(5, 15)),
        (renew, E.INTERVENTION_SENT, at(5, 16)),  # read from the interventions, not here
        (back, E.MILESTONE_ACHIEVED, at(5, 1)),  # before a reactivation: no conversion
    ]
    treated = _run(up, Arm.TREATMENT, at(4, 30))
    control = _run(renew, Arm.CONTROL, at(5, 4))
    async with ctx.db.transaction() as session:
        await enqueue(
            session=session,
            events=[NewEvent(event_type=t, supplier_id=s, occurred_at=w) for s, t, w in events],
            now=ctx.clock(),
        )
        session.add_all([treated, control])
        await session.flush()
        session.add_all(
            [
                _message(up, treated, at(5, 1), clicked=at(5, 3)),
                # a control run's message, recorded as if sent: the holdout is never credited
                _message(renew, control, at(5, 5), clicked=at(5, 6)),
                _message(ref, None, at(5, 20)),  # a success manager's one-off message
            ]
        )
        stored = await store_batch(
            session=session,
            items=[
                event(str(ref), "referral_converted", at(5, 25)),
                event(str(ref), "referral_converted", at(6, 2)),  # outside the window
            ],
            now=ctx.clock(),
            max_batch_size=10,
        )
        assert stored.result.accepted == 2, stored.result
    return ids
