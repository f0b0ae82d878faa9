"""Simulated NPS and CSAT answers for the synthetic population, so the demo's NPS and CSAT
are not empty and move with what the simulation knows.

Every paying supplier's primary contact is asked NPS every quarter from a month after signup
until it leaves (or the window ends), and answers about a third of the time; a CSAT follows
some support tickets. Scores are drawn around a mean set by the supplier's hidden archetype
(thriving suppliers promote, dormant ones detract). All draws are vectorised over asks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from wedsync_success.synthetic.model import Population

NPS_EVERY = timedelta(days=91)
FIRST_ASK = timedelta(days=30)
NPS_ANSWER_RATE = 0.35
CSAT_PER_QUARTER = 0.6
"""Support tickets followed by an answered CSAT, per supplier and quarter (Poisson mean)."""
NPS_MEAN = {"thriving": 9.1, "steady": 8.0, "slow_starter": 7.2, "declining": 5.6, "dormant": 4.2}
CSAT_MEAN = {"thriving": 4.6, "steady": 4.3, "slow_starter": 4.0, "declining": 3.4, "dormant": 3.0}
COMMENTS = {
    "promoter": ("The client portal saves me hours", "Couples love the forms", "Brilliant support"),
    "passive": ("Does the job", "Would like better reporting", "Fine, a bit pricey"),
    "detractor": ("Too expensive for a small studio", "Invoices keep failing", "Hard to set up"),
}


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def survey_items(population: Population, *, seed: int = 13) -> list[dict[str, Any]]:
    """The answers as ``POST /api/v1/surveys/responses`` takes them (stable ``response_id``s)."""
    rng = np.random.default_rng(seed)
    suppliers = [s for s in population.suppliers if s.users and s.plan_tier != "free"]
    if not suppliers:
        return []
    truth = {t.supplier_id: t for t in population.truth}
    end = _seconds(population.end)
    first = np.array([_seconds(s.signed_up_at + FIRST_ASK) for s in suppliers])
    last = np.array(
        [
            min(end, _seconds(s.subscription_ended_at)) if s.subscription_ended_at else end
            for s in suppliers
        ]
    )
    quarter = NPS_EVERY.total_seconds()
    asks = np.maximum(0, np.floor((last - first) / quarter).astype(np.int64) + 1)
    asks[first >= last] = 0
    owner = np.repeat(np.arange(len(suppliers)), asks)
    ordinal = np.arange(len(owner)) - np.repeat(np.cumsum(asks) - asks, asks)
    nps_at = first[owner] + ordinal * quarter + rng.uniform(0, 5 * 86400, len(owner))
    answered = (rng.random(len(owner)) < NPS_ANSWER_RATE) & (nps_at < last[owner])
    nps_mean = np.array([NPS_MEAN.get(truth[s.id].archetype, 7.0) for s in suppliers])
    nps_score = np.clip(np.rint(rng.normal(nps_mean[owner], 1.6)), 0, 10).astype(np.int64)

    quarters = np.maximum(1.0, (last - first) / quarter)
    tickets = rng.poisson(CSAT_PER_QUARTER * quarters * (first < last))
    csat_owner = np.repeat(np.arange(len(suppliers)), tickets)
    span = np.maximum(last - first, 1.0)
    csat_at = first[csat_owner] + rng.random(len(csat_owner)) * span[csat_owner]
    csat_mean = np.array([CSAT_MEAN.get(truth[s.id].archetype, 4.0) for s in suppliers])
    csat_score = np.clip(np.rint(rng.normal(csat_mean[csat_owner], 0.8)), 1, 5).astype(np.int64)
    comment_draw = rng.random(len(owner))

    items: list[dict[str, Any]] = []
    for n in np.flatnonzero(answered).tolist():
        s, score = suppliers[owner[n]], int(nps_score[n])
        band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = COMMENTS[band][n % 3] if comment_draw[n] < 0.4 else None
        items.append(_item(f"demo-nps-{s.id}-{ordinal[n]}", "nps", score, s, nps_at[n], comment))
    for n in range(len(csat_owner)):
        s = suppliers[csat_owner[n]]
        items.append(
            _item(f"demo-csat-{s.id}-{n}", "csat", int(csat_score[n]), s, csat_at[n], None)
        )
    return items


def _item(
    response_id: str, kind: str, score: int, supplier: Any, at: float, comment: str | None
) -> dict[str, Any]:
    return {
        "response_id": response_id,
        "kind": kind,
        "score": score,
        "comment": comment,
        "supplier_id": str(supplier.id),
        "supplier_user_id": str(supplier.users[0].id),
        "responded_at": datetime.fromtimestamp(float(at), tz=UTC).isoformat(),
    }
