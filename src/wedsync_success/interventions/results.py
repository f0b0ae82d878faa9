"""A playbook's results against its holdout: arms, funnel, goal rate, retention and uplift.

Uplift is pooled over currencies (retention is a share, so currencies do not matter to it);
money is never summed across currencies: each currency gets its treated MRR at enrolment,
the part still a customer at the horizon, and the incremental MRR = uplift times treated MRR at
enrolment (with the interval's ends likewise). Runs of one supplier enrolled several times
count as separate runs, so the interval is a little narrow when re-enrolments are common.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import results_repository as repo
from wedsync_success.interventions.measurement import save_rate, uplift
from wedsync_success.interventions.models import Arm
from wedsync_success.interventions.results_schemas import (
    CurrencyMoney,
    Funnel,
    GoalRates,
    Horizon,
    PlaybookResults,
    UpliftOut,
)

HORIZON_DAYS = (30, 60, 90)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _scaled(share: float | None, amount: int) -> int | None:
    return None if share is None else round(share * amount)


def _horizon(rows: list[repo.ArmRow], days: int, confidence: float) -> Horizon:
    def total(arm: Arm, field: str) -> int:
        return sum(getattr(r.horizons[days], field) for r in rows if r.arm == arm)

    t_obs, t_kept = total(Arm.TREATMENT, "observed"), total(Arm.TREATMENT, "retained")
    c_obs, c_kept = total(Arm.CONTROL, "observed"), total(Arm.CONTROL, "retained")
    estimate = uplift(t_kept, t_obs, c_kept, c_obs, confidence)
    money = [
        CurrencyMoney(
            currency=r.currency,
            treated_mrr_minor=r.horizons[days].observed_mrr_minor,
            retained_mrr_minor=r.horizons[days].retained_mrr_minor,
            incremental_mrr_minor=_scaled(estimate.difference, r.horizons[days].observed_mrr_minor),
            incremental_low_minor=_scaled(estimate.low, r.horizons[days].observed_mrr_minor),
            incremental_high_minor=_scaled(estimate.high, r.horizons[days].observed_mrr_minor),
        )
        for r in rows
        if r.arm == Arm.TREATMENT
    ]
    return Horizon(
        days=days,
        treated_observed=t_obs,
        treated_retained=t_kept,
        control_observed=c_obs,
        control_retained=c_kept,
        treated_retention=estimate.treated_rate,
        control_retention=estimate.control_rate,
        uplift=UpliftOut(
            difference=estimate.difference,
            low=estimate.low,
            high=estimate.high,
            confidence=estimate.confidence,
            reason=estimate.reason,
        ),
        treated_save_rate=save_rate(
            total(Arm.TREATMENT, "recovered"), total(Arm.TREATMENT, "lost")
        ),
        control_save_rate=save_rate(total(Arm.CONTROL, "recovered"), total(Arm.CONTROL, "lost")),
        money=money,
    )


async def playbook_results(
    *,
    session: AsyncSession,
    playbook_key: str,
    as_of: datetime,
    horizons: Sequence[int] = HORIZON_DAYS,
    confidence: float = 0.95,
) -> PlaybookResults:
    """Everything ``GET /playbooks/{key}/results`` shows, as known at ``as_of``."""
    rows = await repo.runs_by_arm(
        session, playbook_key=playbook_key, as_of=as_of, horizons=horizons
    )
    funnel = await repo.treated_funnel(session, playbook_key=playbook_key, as_of=as_of)
    treated = sum(r.enrolled for r in rows if r.arm == Arm.TREATMENT)
    control = sum(r.enrolled for r in rows if r.arm == Arm.CONTROL)
    treated_reached = sum(r.goal_reached for r in rows if r.arm == Arm.TREATMENT)
    control_reached = sum(r.goal_reached for r in rows if r.arm == Arm.CONTROL)
    return PlaybookResults(
        playbook_key=playbook_key,
        as_of=as_of,
        enrolled=treated + control,
        treated=treated,
        control=control,
        funnel=Funnel(
            runs=treated,
            sent=funnel.sent,
            delivered=funnel.delivered,
            opened=funnel.opened,
            clicked=funnel.clicked,
            goal_reached=treated_reached,
            messages_sent=funnel.messages_sent,
        ),
        goal=GoalRates(
            treated=_rate(treated_reached, treated),
            control=_rate(control_reached, control),
            treated_reached=treated_reached,
            control_reached=control_reached,
        ),
        horizons=[_horizon(rows, days, confidence) for days in horizons],
    )
