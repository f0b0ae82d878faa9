"""Enrolling suppliers in playbooks when their triggers fire.

Set-based: a round of success events (or the daily sweep's candidates) is matched against
every playbook's trigger, the facts the conditions need are read in one query per kind for
all the suppliers at once, and the runs and their first step jobs are inserted in bulk. The
arm (treatment or control) is drawn here, once, and stored with the run.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.churn import repository as churn_repository
from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType
from wedsync_success.interventions import repository
from wedsync_success.interventions.models import Arm, RunStatus
from wedsync_success.interventions.playbooks import (
    SCHEDULE_DAILY,
    Audience,
    Playbook,
    PlaybookFile,
    TriggerConditions,
)
from wedsync_success.interventions.runs import (
    GOAL_EVENTS,
    end_runs_reaching_goals,
    first_step_delay,
)
from wedsync_success.milestones import repository as milestones_repository
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import is_active_at

_SYSTEM_RANDOM = random.SystemRandom()


@dataclass(frozen=True)
class Candidate:
    """A supplier whose trigger fired for a playbook."""

    playbook: Playbook
    supplier_id: uuid.UUID
    event_id: uuid.UUID | None
    trigger: dict[str, Any]


@dataclass
class Facts:
    """What trigger conditions and audiences are checked against, for many suppliers."""

    suppliers: dict[uuid.UUID, Supplier]
    achieved: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    churn: dict[uuid.UUID, float] = field(default_factory=dict)


def in_global_holdout(supplier_id: uuid.UUID, share: float) -> bool:
    """The global control group: a fixed, uniformly spread share of all suppliers."""
    if share <= 0:
        return False
    digest = hashlib.sha256(b"wedsync-global-holdout:" + supplier_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _event_matches(when: TriggerConditions, payload: dict[str, Any]) -> bool:
    """The conditions that read the event itself (the others read facts)."""
    level, previous = payload.get("risk_level"), payload.get("previous_risk_level")
    if when.risk_level_entered is not None and not (
        level in when.risk_level_entered and previous not in when.risk_level_entered
    ):
        return False
    if when.risk_level_left is not None and not (
        previous in when.risk_level_left and level not in when.risk_level_left
    ):
        return False
    return when.milestone is None or payload.get("milestone") in when.milestone


def _in_audience(audience: Audience, supplier: Supplier) -> bool:
    return (
        (not audience.vendor_types or supplier.vendor_type in audience.vendor_types)
        and (not audience.plans or supplier.plan_tier in audience.plans)
        and supplier.plan_tier not in audience.exclude_plans
        and (not audience.countries or supplier.country in audience.countries)
    )


def _facts_hold(when: TriggerConditions, supplier: Supplier, facts: Facts, now: datetime) -> bool:
    if when.missing_milestone is not None and when.missing_milestone in facts.achieved.get(
        supplier.id, set()
    ):
        return False
    if when.days_since_signup is not None and not when.days_since_signup.contains(
        (now - supplier.signed_up_at) / timedelta(days=1)
    ):
        return False
    return when.churn_probability is None or when.churn_probability.contains(
        facts.churn.get(supplier.id)
    )


def candidates_from_events(
    catalog: PlaybookFile, events: Sequence[SuccessEvent]
) -> list[Candidate]:
    """Each (playbook, event) pair whose event-side conditions hold."""
    out = []
    for event in events:
        if event.supplier_id is None:
            continue
        for playbook in catalog.triggered_by(event.event_type):
            if _event_matches(playbook.trigger.when, event.payload):
                trigger = {"event": event.event_type, **_trigger_summary(event.payload)}
                out.append(Candidate(playbook, event.supplier_id, event.event_id, trigger))
    return out


def _trigger_summary(payload: dict[str, Any]) -> dict[str, Any]:
    keep = ("risk_level", "previous_risk_level", "score", "milestone", "name", "amount")
    return {k: payload[k] for k in keep if k in payload}


async def gather_facts(
    session: AsyncSession, supplier_ids: Iterable[uuid.UUID], playbooks: Iterable[Playbook]
) -> Facts:
    """Read what the playbooks' conditions need, one query per kind of fact."""
    ids = sorted(set(supplier_ids))
    wanted = [p.trigger.when for p in playbooks]
    facts = Facts(suppliers=await suppliers_repository.by_ids(session, ids))
    if any(w.missing_milestone for w in wanted):
        facts.achieved = await milestones_repository.achieved_keys(session, ids)
    if any(w.churn_probability for w in wanted):
        facts.churn = await churn_repository.latest_probabilities(session, ids)
    return facts


async def enrol(
    *,
    session: AsyncSession,
    catalog: PlaybookFile,
    candidates: Sequence[Candidate],
    now: datetime,
    rng: random.Random | None = None,
) -> list[uuid.UUID]:
    """Enrol the candidates that pass audience, conditions and the no-stacking rules.

    A supplier is in at most one active run of a playbook and of a goal group (higher
    priority first), and is not enrolled again in a playbook within its re-enrolment window;
    the unique indexes hold the same rules against concurrent enrolments.
    """
    if not candidates:
        return []
    rng = rng or _SYSTEM_RANDOM
    facts = await gather_facts(
        session, (c.supplier_id for c in candidates), (c.playbook for c in candidates)
    )
    longest = max(c.playbook.reenrol_after_days for c in candidates)
    existing = await repository.runs_of(
        session, list(facts.suppliers), enrolled_since=now - timedelta(days=longest)
    )
    active_playbooks = {
        (r.supplier_id, r.playbook_key) for r in existing if r.status == RunStatus.ACTIVE
    }
    active_groups = {
        (r.supplier_id, r.goal_group) for r in existing if r.status == RunStatus.ACTIVE
    }
    last_enrolled: dict[tuple[uuid.UUID, str], datetime] = {}
    for r in existing:
        key = (r.supplier_id, r.playbook_key)
        last_enrolled[key] = max(last_enrolled.get(key, r.enrolled_at), r.enrolled_at)

    runs: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    ordered = sorted(candidates, key=lambda c: (-c.playbook.priority, c.playbook.key))
    for c in ordered:
        supplier = facts.suppliers.get(c.supplier_id)
        playbook = c.playbook
        pair, group = (c.supplier_id, playbook.key), (c.supplier_id, playbook.group)
        if (
            supplier is None
            or not is_active_at(
                started_at=supplier.subscription_started_at,
                ended_at=supplier.subscription_ended_at,
                moment=now,
            )
            or not _in_audience(playbook.audience, supplier)
            or not _facts_hold(playbook.trigger.when, supplier, facts, now)
            or pair in active_playbooks
            or group in active_groups
        ):
            continue
        last = last_enrolled.get(pair)
        if last is not None and now - last < timedelta(days=playbook.reenrol_after_days):
            continue
        control = in_global_holdout(c.supplier_id, catalog.global_holdout) or (
            rng.random() < playbook.holdout
        )
        run_id = uuid.uuid4()
        runs.append(
            {
                "id": run_id,
                "playbook_key": playbook.key,
                "goal_group": playbook.group,
                "supplier_id": c.supplier_id,
                "arm": Arm.CONTROL if control else Arm.TREATMENT,
                "status": RunStatus.ACTIVE,
                "trigger_event_id": c.event_id,
                "trigger": c.trigger,
                "enrolled_at": now,
                "mrr_minor_at_enrolment": supplier.mrr_minor,
                "currency": supplier.currency,
            }
        )
        step_no, delay = first_step_delay(playbook, -1)
        if step_no is not None:
            jobs.append(
                repository.pending_job(
                    run_id=run_id,
                    supplier_id=c.supplier_id,
                    step_no=step_no,
                    due_at=now + delay,
                    now=now,
                )
            )
        active_playbooks.add(pair)
        active_groups.add(group)
        last_enrolled[pair] = now
    inserted = await repository.insert_runs(session, runs)
    await repository.insert_jobs(session, [j for j in jobs if j["run_id"] in inserted])
    await enqueue(
        session=session,
        events=[
            NewEvent(
                event_type=SuccessEventType.INTERVENTION_ENROLLED,
                supplier_id=r["supplier_id"],
                occurred_at=now,
                payload={
                    "run_id": str(r["id"]),
                    "playbook": r["playbook_key"],
                    "arm": str(r["arm"]),
                    "trigger": r["trigger"],
                },
            )
            for r in runs
            if r["id"] in inserted
        ],
        now=now,
    )
    return [r["id"] for r in runs if r["id"] in inserted]


async def sweep_candidates(
    *, session: AsyncSession, catalog: PlaybookFile, now: datetime
) -> list[Candidate]:
    """Suppliers the daily sweep's playbooks may enrol (by days since signup)."""
    out: list[Candidate] = []
    for playbook in catalog.triggered_by(SCHEDULE_DAILY):
        band = playbook.trigger.when.days_since_signup
        latest = now - timedelta(days=band.min) if band and band.min is not None else now
        earliest = (
            now - timedelta(days=band.max + 1)
            if band and band.max is not None
            else datetime(2000, 1, 1, tzinfo=now.tzinfo)
        )
        ids = await suppliers_repository.signed_up_between(
            session, start=earliest, end=latest + timedelta(seconds=1), active_now=now
        )
        trigger = {"event": SCHEDULE_DAILY, "day": now.date().isoformat()}
        out.extend(Candidate(playbook, s, None, trigger) for s in ids)
    return out


async def on_success_events(
    session: AsyncSession,
    events: Sequence[SuccessEvent],
    now: datetime,
    *,
    catalog: PlaybookFile,
) -> None:
    """The outbox consumer, in the dispatcher's transaction: end the runs whose goal an event
    reached, then enrol from the round's triggers."""
    await end_runs_reaching_goals(session=session, catalog=catalog, events=events, now=now)
    await enrol(
        session=session,
        catalog=catalog,
        candidates=candidates_from_events(catalog, events),
        now=now,
    )


def consumed_event_types(catalog: PlaybookFile) -> list[str]:
    """The success events the consumer must receive: the enabled playbooks' triggers, and
    what ends their runs early. A disabled playbook enrols nobody and listens to nothing
    (its runs still end at their goal when the worker next looks at them)."""
    enabled = [p for p in catalog.playbooks if p.enabled]
    triggers = {p.trigger.event for p in enabled if p.trigger.event != SCHEDULE_DAILY}
    goals = set(GOAL_EVENTS) if any(p.goal.defined for p in enabled) else set()
    return sorted(triggers | goals)
