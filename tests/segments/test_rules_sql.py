"""The compiled SQL of a rule matches exactly the suppliers a plain Python reading of the rule
does, for many generated rules over a varied population (NULL scores, nested any/all, the
CASE ordering of costly terms), on both backends."""

from __future__ import annotations

import math
import random
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import FakeClock
from tests.factories import event
from tests.helpers import create_supplier, ingest
from wedsync_success.activity.models import DailyRollup
from wedsync_success.context import AppContext
from wedsync_success.health.models import HealthScore
from wedsync_success.milestones.models import MilestoneAchievement
from wedsync_success.segments import repository, service
from wedsync_success.segments.rules import Rule
from wedsync_success.suppliers.models import Supplier

CONDITIONS: list[dict[str, Any]] = [
    {"field": "vendor_type", "op": "eq", "value": "photographer"},
    {"field": "vendor_type", "op": "ne", "value": "photographer"},
    {"field": "vendor_type", "op": "in", "value": ["venue", "florist"]},
    {"field": "plan_tier", "op": "not_in", "value": ["starter"]},
    {"field": "tenure_days", "op": "gte", "value": 14},
    {"field": "tenure_days", "op": "lt", "value": 30},
    {"field": "tenure_days", "op": "eq", "value": 20},
    {"field": "health.score", "op": "gte", "value": 25},
    {"field": "health.risk_level", "op": "in", "value": ["critical", "onboarding"]},
    {"field": "health.risk_level", "op": "ne", "value": "critical"},
    {"field": "churn.probability", "op": "gt", "value": 0.2},  # nobody has one: NULL
    {"field": "milestone", "op": "achieved", "value": "first_client_added"},
    {"field": "milestone", "op": "not_achieved", "value": "first_client_added"},
    {"field": "activity.login", "op": "gte", "value": 2, "days": 7},
    {"field": "activity.login", "op": "eq", "value": 0, "days": 14},
    {"field": "activity.login", "op": "lt", "value": 3, "days": 30},
]


def _rule(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    if depth > 0 and (depth >= 3 or rng.random() < 0.5):
        return dict(rng.choice(CONDITIONS))
    kind = rng.choice(["all", "any"])
    return {kind: [_rule(rng, depth + 1) for _ in range(rng.randint(1, 4))]}


async def _population(client: httpx.AsyncClient, clock: FakeClock) -> None:
    rng = random.Random(5)
    for n in range(14):
        sid = await create_supplier(
            client,
            vendor_type=["photographer", "venue", "florist"][n % 3],
            plan_tier=["professional", "starter"][n % 2],
            signed_up_at=(clock.now - timedelta(days=[5, 14, 20, 29, 30, 100][n % 6])).isoformat(),
        )
        events = [
            event(sid, "login", clock.now - timedelta(days=rng.choice([0, 3, 8, 20, 40])))
            for _ in range(rng.randint(0, 4))
        ]
        if n % 4 == 0:
            events.append(event(sid, "client_added", clock.now - timedelta(hours=2)))
        if events:
            await ingest(client, events)


class Oracle:
    """The rule read plainly over the rows, NULL (no score, no prediction) never matching."""

    def __init__(self, rows: dict[str, Any], now: Any) -> None:
        self.rows = rows
        self.now = now

    def value(self, supplier: uuid.UUID, field: str, days: int | None) -> Any:
        s, h, _achieved, logins = self.rows[supplier]
        if field == "tenure_days":
            return math.floor((self.now - s.signed_up_at) / timedelta(days=1))
        if field.startswith("health."):
            return None if h is None else getattr(h, field.removeprefix("health."))
        if field.startswith("churn."):
            return None
        if field.startswith("activity."):
            assert days is not None
            first = self.now.date() - timedelta(days=days - 1)
            return sum(c for day, c in logins if first <= day <= self.now.date())
        return getattr(s, field)

    def holds(self, supplier: uuid.UUID, rule: dict[str, Any]) -> bool:
        if "all" in rule:
            return all(self.holds(supplier, r) for r in rule["all"])
        if "any" in rule:
            return any(self.holds(supplier, r) for r in rule["any"])
        if rule["field"] == "milestone":
            has = rule["value"] in self.rows[supplier][2]
            return has if rule["op"] == "achieved" else not has
        v = self.value(supplier, rule["field"], rule.get("days"))
        if v is None:
            return False
        want = rule["value"]
        return {
            "eq": lambda: v == want,
            "ne": lambda: v != want,
            "in": lambda: v in want,
            "not_in": lambda: v not in want,
            "lt": lambda: v < want,
            "lte": lambda: v <= want,
            "gt": lambda: v > want,
            "gte": lambda: v >= want,
        }[rule["op"]]()


async def _oracle(ctx: AppContext) -> Oracle:
    async with ctx.db.sessions() as session:
        suppliers = list(await session.scalars(select(Supplier)))
        scores = {h.supplier_id: h for h in await session.scalars(select(HealthScore))}
        achieved: dict[uuid.UUID, set[str]] = {}
        for a in await session.scalars(select(MilestoneAchievement)):
            achieved.setdefault(a.supplier_id, set()).add(a.milestone_key)
        logins: dict[uuid.UUID, list[Any]] = {}
        for r in await session.scalars(
            select(DailyRollup).where(DailyRollup.event_type == "login")
        ):
            logins.setdefault(r.supplier_id, []).append((r.day, r.count))
    rows = {
        s.id: (s, scores.get(s.id), achieved.get(s.id, set()), logins.get(s.id, []))
        for s in suppliers
    }
    return Oracle(rows, ctx.clock())


async def test_compiled_rules_match_the_plain_reading(
    client: httpx.AsyncClient, ctx: AppContext, clock: FakeClock
) -> None:
    await _population(client, clock)
    oracle = await _oracle(ctx)
    # One supplier without a score: its health conditions are NULL, never a match.
    async with ctx.db.transaction() as session:
        unscored = next(iter(oracle.rows))
        await session.execute(
            HealthScore.__table__.delete().where(HealthScore.supplier_id == unscored)
        )
    oracle = await _oracle(ctx)
    assert oracle.rows[unscored][1] is None
    moment = service.moment_of(ctx.clock())
    rng = random.Random(12)
    sizes = set()
    async with ctx.db.sessions() as session:
        for _ in range(150):
            raw = _rule(rng)
            rule = Rule.model_validate(raw)
            found = set(await session.scalars(repository.matching(rule, moment, None)))
            expected = {s for s in oracle.rows if oracle.holds(s, raw)}
            assert found == expected, raw
            sizes.add(len(found))
    assert len(sizes) > 5, "the generated rules hardly discriminate"
