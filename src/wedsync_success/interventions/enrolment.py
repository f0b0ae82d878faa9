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


MANUAL_TRIGGER = "manual"
"""The trigger ``event`` of a run a team member started by hand."""
RISK_TRIGGERS = (
    SuccessEventType.RISK_LEVEL_CHANGED.value,
    SuccessEventType.HEALTH_DECLINED.value,
)
"""Success events that make a playbook risk-triggered (an alert an account snooze holds)."""


@dataclass(frozen=True)
class Candidate:
    """A supplier whose trigger fired for a playbook (or whom a team member enrols)."""

    playbook: Playbook
    supplier_id: uuid.UUID
    event_id: uuid.UUID | None
    trigger: dict[str, Any]

    @property
    def manual(self) -> bool:
        """Started by hand: the trigger's conditions and the re-enrolment window do not
        apply (a person chose to), every other rule does."""
        return is_manual(self.trigger)


def is_manual(trigger: dict[str, Any]) -> bool:
    """A run's stored trigger says a team member started it."""
    return trigger.get("event") == MANUAL_TRIGGER


def risk_triggered(playbook: Playbook) -> bool:
    """The playbook acts on risk (a health or churn alert), not on billing or success."""
    when = playbook.trigger.when
    return playbook.trigger.event in RISK_TRIGGERS or when.churn_probability is not None


@dataclass(frozen=True)
class Enrolled:
    candidate: Candidate
    run_id: uuid.UUID
    arm: Arm


@dataclass
class Enrolment:
    """What became of a round of candidates: the runs made, and why the others were not."""

    enrolled: list[Enrolled] = field(default_factory=list)
    refused: list[tuple[Candidate, str]] = field(default_factory=list)


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
        facts.churn = await churn_repository.current_probabilities(session, ids)
    return facts


async def enrol(
    *,
    session: AsyncSession,
    catalog: PlaybookFile,
    candidates: Sequence[Candidate],
    now: datetime,
    rng: random.Random | None = None,
) -> list[uuid.UUID]:
    """Enrol the candidates that pass audience, conditions and the no-stacking rules; the
    ids of the runs made (see :func:`enrol_candidates`)."""
    outcome = await enrol_candidates(
        session=session, catalog=catalog, candidates=candidates, now=now, rng=rng
    )
    return [e.run_id for e in outcome.enrolled]


@dataclass
class _Existing:
    """The candidates' runs that constrain new ones, kept up to date as the round enrols."""

    by_playbook: dict[tuple[uuid.UUID, str], datetime] = field(default_factory=dict)
    """Active runs: (supplier, playbook) → enrolled at."""
    by_group: dict[tuple[uuid.UUID, str], str] = field(default_factory=dict)
    """Active runs: (supplier, goal group) → the playbook holding it."""
    last_enrolled: dict[tuple[uuid.UUID, str], datetime] = field(default_factory=dict)

    def add(self, supplier_id: uuid.UUID, playbook: str, group: str, at: datetime) -> None:
        self.by_playbook[(supplier_id, playbook)] = at
        self.by_group[(supplier_id, group)] = playbook
        self.last_enrolled[(supplier_id, playbook)] = at


def _refusal(
    c: Candidate,
    supplier: Supplier | None,
    facts: Facts,
    existing: _Existing,
    catalog: PlaybookFile,
    now: datetime,
) -> str | None:
    """Why ``c`` is not enrolled, in words a success manager reads; ``None``: enrol it."""
    playbook = c.playbook
    if supplier is None:
        return "no such supplier"
    if not is_active_at(
        started_at=supplier.subscription_started_at,
        ended_at=supplier.subscription_ended_at,
        moment=now,
    ):
        return f"{supplier.business_name} is not a customer now"
    if not _in_audience(playbook.audience, supplier):
        return (
            f"{playbook.name} is not for this supplier ({supplier.plan_tier} plan, "
            f"{supplier.vendor_type}, {supplier.country}): see its audience"
        )
    if not c.manual and not _facts_hold(playbook.trigger.when, supplier, facts, now):
        return "the trigger's conditions do not hold"
    since = existing.by_playbook.get((c.supplier_id, playbook.key))
    if since is not None:
        return f"{playbook.name} is already running for this supplier (since {since:%d %b %Y})"
    holder = existing.by_group.get((c.supplier_id, playbook.group))
    if holder is not None:
        other = catalog.get(holder)
        return (
            f"{other.name if other else holder} is running for this supplier and has the same "
            f"goal ({playbook.group}): it must end first"
        )
    last = existing.last_enrolled.get((c.supplier_id, playbook.key))
    if (
        not c.manual
        and last is not None
        and now - last < timedelta(days=playbook.reenrol_after_days)
    ):
        return f"enrolled less than {playbook.reenrol_after_days} days ago"
    return None


async def enrol_candidates(
    *,
    session: AsyncSession,
    catalog: PlaybookFile,
    candidates: Sequence[Candidate],
    now: datetime,
    rng: random.Random | None = None,
) -> Enrolment:
    """Enrol the candidates that pass audience, conditions and the no-stacking rules.

    A supplier is in at most one active run of a playbook and of a goal group (higher
    priority first), and is not enrolled again in a playbook within its re-enrolment window;
    the unique indexes hold the same rules against concurrent enrolments. The arm is drawn
    here (the global holdout, then the playbook's) and stored with the run.
    """
    outcome = Enrolment()
    if not candidates:
        return outcome
    rng = rng or _SYSTEM_RANDOM
    facts = await gather_facts(
        session, (c.supplier_id for c in candidates), (c.playbook for c in candidates)
    )
    longest = max(c.playbook.reenrol_after_days for c in candidates)
    existing = _Existing()
    for r in await repository.runs_of(
        session, list(facts.suppliers), enrolled_since=now - timedelta(days=longest)
    ):
        if r.status == RunStatus.ACTIVE:
            existing.by_playbook[(r.supplier_id, r.playbook_key)] = r.enrolled_at
            existing.by_group[(r.supplier_id, r.goal_group)] = r.playbook_key
        key = (r.supplier_id, r.playbook_key)
        existing.last_enrolled[key] = max(
            existing.last_enrolled.get(key, r.enrolled_at), r.enrolled_at
        )

    runs: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    drawn: list[tuple[Candidate, dict[str, Any]]] = []
    ordered = sorted(candidates, key=lambda c: (-c.playbook.priority, c.playbook.key))
    for c in ordered:
        supplier = facts.suppliers.get(c.supplier_id)
        playbook = c.playbook
        refusal = _refusal(c, supplier, facts, existing, catalog, now)
        if refusal is not None:
            outcome.refused.append((c, refusal))
            continue
        assert supplier is not None
        control = in_global_holdout(c.supplier_id, catalog.global_holdout) or (
            rng.random() < playbook.holdout
        )
        run_id = uuid.uuid4()
        run: dict[str, Any] = {
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
        runs.append(run)
        drawn.append((c, run))
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
        existing.add(c.supplier_id, playbook.key, playbook.group, now)
    inserted = await repository.insert_runs(session, runs)
    await repository.insert_jobs(session, [j for j in jobs if j["run_id"] in inserted])
    for c, run in drawn:
        if run["id"] in inserted:
            outcome.enrolled.append(Enrolled(c, run["id"], Arm(run["arm"])))
        else:
            outcome.refused.append(
                (c, f"{c.playbook.name} was started for this supplier at the same moment")
            )
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
    return outcome


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
