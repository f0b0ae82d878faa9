"""The return on customer success: each playbook's effect on retention, measured against its
randomised holdout, priced, and set against what the playbook cost.

For the runs enrolled in ``[from, to)``, retention of each arm is the share whose supplier
is a customer at the window's end. The retained MRR attributable to treatment is the uplift
(treated minus control retention, with Newcombe's interval) times the treated arm's MRR at
enrolment in the reporting currency; the interval's ends are multiplied the same way, the
MRR being known. Revenue is that MRR over the configured ``revenue_months``; the ROI is
``(revenue - cost) / cost``, which rises with the uplift, so its interval is the revenue
interval's ends put through the same formula. A playbook without a control arm (or without
treated runs) gets no effect, no money and no ROI, and the total leaves it out by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions.channels.base import Channel
from wedsync_success.interventions.measurement import mover_sum, save_rate, uplift
from wedsync_success.interventions.models import Arm
from wedsync_success.interventions.playbooks import PlaybookFile
from wedsync_success.interventions.results_repository import MESSAGE_CHANNELS
from wedsync_success.interventions.results_schemas import UpliftOut
from wedsync_success.kit.clock import start_of_day
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports import roi_repository as repo
from wedsync_success.reports.costs import ProgrammeCosts
from wedsync_success.reports.roi_schemas import (
    Amount,
    ArmRetention,
    Cost,
    CostModel,
    LeftOut,
    PlaybookRoi,
    Ratio,
    RoiReport,
    RoiTotal,
)


def holdouts_of(catalog: PlaybookFile) -> dict[str, float]:
    """Each configured playbook's control share, the ``holdouts`` of :func:`roi_report`."""
    return {p.key: p.holdout for p in catalog.playbooks}


def check_window(*, start: date, end: date, as_of: datetime) -> None:
    """Refuse a window that is empty, reversed, or not over yet, naming the parameter."""
    if end <= start:
        reason = "must be after from: the window is [from, to)"
        raise ValidationFailed(f"to {reason}", details=[{"field": "to", "reason": reason}])
    if start_of_day(end) > as_of:
        reason = f"must not be after {as_of.date()}: retention is measured at the window's end"
        raise ValidationFailed(f"to {reason}", details=[{"field": "to", "reason": reason}])


def _arm(rows: list[repo.CohortRow]) -> ArmRetention:
    runs = sum(r.runs for r in rows)
    retained = sum(r.retained for r in rows)
    recovered, lost = sum(r.recovered for r in rows), sum(r.lost for r in rows)
    return ArmRetention(
        suppliers=runs,
        retained=retained,
        retention=retained / runs if runs else None,
        recovered=recovered,
        lost=lost,
        save_rate=save_rate(recovered, lost),
    )


def _why_not(treated: int, control: int, holdout: float | None) -> str | None:
    if treated and control:
        return None
    if not treated and not control:
        return "no runs enrolled in the window: the effect cannot be measured"
    if not control:
        if holdout == 0:
            return "no control group (the playbook's holdout is 0): its effect cannot be measured"
        return "no control-group runs in the window: the effect cannot be measured"
    return "no treated runs in the window: the effect cannot be measured"


def _cost(usage: Mapping[str, int], costs: ProgrammeCosts, factor: float) -> Cost:
    messages = {str(c): usage.get(c, 0) for c in MESSAGE_CHANNELS}
    tasks = usage.get(Channel.TASK, 0)
    messages_minor = round(
        sum(n * costs.message_cost_minor.of(c) for c, n in messages.items()) * factor
    )
    tasks_minor = round(tasks * costs.task_cost_minor * factor)
    return Cost(
        messages=messages,
        tasks=tasks,
        messages_minor=messages_minor,
        tasks_minor=tasks_minor,
        total_minor=messages_minor + tasks_minor,
    )


def _roi(revenue: Amount | None, cost_minor: int) -> tuple[Ratio | None, str | None]:
    if revenue is None:
        return None, "the effect cannot be measured"
    if cost_minor <= 0:
        return None, "the programme cost nothing in the window: ROI is undefined"

    def ratio(minor: int) -> float:
        return (minor - cost_minor) / cost_minor

    return (
        Ratio(
            estimate=ratio(revenue.estimate_minor),
            low=ratio(revenue.low_minor),
            high=ratio(revenue.high_minor),
        ),
        None,
    )


def _scaled(amount: Amount, by: float) -> Amount:
    return Amount(
        estimate_minor=round(amount.estimate_minor * by),
        low_minor=round(amount.low_minor * by),
        high_minor=round(amount.high_minor * by),
    )


def _playbook(
    key: str,
    rows: list[repo.CohortRow],
    usage: Mapping[str, int],
    *,
    holdout: float | None,
    costs: ProgrammeCosts,
    rates: Rates,
    confidence: float,
) -> PlaybookRoi:
    treated = _arm([r for r in rows if r.arm == Arm.TREATMENT])
    control = _arm([r for r in rows if r.arm == Arm.CONTROL])
    reason = _why_not(treated.suppliers, control.suppliers, holdout)
    estimate = uplift(
        treated.retained, treated.suppliers, control.retained, control.suppliers, confidence
    )
    mrr: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.arm == Arm.TREATMENT:
            mrr[r.currency] += r.mrr_minor
    treated_mrr = rates.total(mrr)
    incremental = None
    if reason is None:
        assert estimate.difference is not None
        assert estimate.low is not None
        assert estimate.high is not None
        incremental = Amount(
            estimate_minor=round(estimate.difference * treated_mrr.minor),
            low_minor=round(estimate.low * treated_mrr.minor),
            high_minor=round(estimate.high * treated_mrr.minor),
        )
    revenue = None if incremental is None else _scaled(incremental, costs.revenue_months)
    factor = rates.factor(costs.currency)
    assert factor is not None  # checked when the costs file is loaded
    cost = _cost(usage, costs, factor)
    roi, roi_reason = _roi(revenue, cost.total_minor)
    return PlaybookRoi(
        playbook_key=key,
        holdout=holdout,
        treated=treated,
        control=control,
        measurable=reason is None,
        reason=reason,
        uplift=UpliftOut(
            difference=estimate.difference,
            low=estimate.low,
            high=estimate.high,
            confidence=estimate.confidence,
            reason=estimate.reason,
        ),
        treated_mrr_minor=treated_mrr.minor,
        treated_mrr_not_converted_minor=treated_mrr.not_converted,
        incremental_mrr=incremental,
        incremental_revenue=revenue,
        cost=cost,
        roi=roi,
        roi_reason=roi_reason if reason is None else reason,
    )


def _sum(amounts: list[Amount]) -> Amount | None:
    if not amounts:
        return None
    total, low, high = mover_sum(
        [a.estimate_minor for a in amounts],
        [a.low_minor for a in amounts],
        [a.high_minor for a in amounts],
    )
    return Amount(estimate_minor=round(total), low_minor=round(low), high_minor=round(high))


def _total(playbooks: list[PlaybookRoi]) -> RoiTotal:
    kept = [p for p in playbooks if p.measurable]
    revenue = _sum([p.incremental_revenue for p in kept if p.incremental_revenue is not None])
    cost_minor = sum(p.cost.total_minor for p in kept)
    roi, roi_reason = _roi(revenue, cost_minor)
    if not kept:
        roi_reason = "no playbook's effect can be measured in the window"
    return RoiTotal(
        playbooks=[p.playbook_key for p in kept],
        left_out=[
            LeftOut(playbook_key=p.playbook_key, reason=p.reason or "")
            for p in playbooks
            if not p.measurable
        ],
        treated=sum(p.treated.suppliers for p in kept),
        control=sum(p.control.suppliers for p in kept),
        incremental_mrr=_sum([p.incremental_mrr for p in kept if p.incremental_mrr is not None]),
        incremental_revenue=revenue,
        cost_minor=cost_minor,
        roi=roi,
        roi_reason=roi_reason,
    )


async def roi_report(
    *,
    session: AsyncSession,
    start: date,
    end: date,
    as_of: datetime,
    holdouts: Mapping[str, float],
    costs: ProgrammeCosts,
    rates: Rates,
    confidence: float = 0.95,
) -> RoiReport:
    """Each playbook's and the programme's return over the runs enrolled in ``[start, end)``.

    ``holdouts`` maps every configured playbook to its control share; playbooks with runs
    but no longer configured are reported too.
    """
    check_window(start=start, end=end, as_of=as_of)
    window = {"start": start_of_day(start), "end": start_of_day(end)}
    rows = await repo.cohort(session, **window)
    by_key: dict[str, list[repo.CohortRow]] = defaultdict(list)
    for row in rows:
        by_key[row.playbook_key].append(row)
    used: dict[str, dict[str, int]] = defaultdict(dict)
    for u in await repo.usage(session, **window):
        used[u.playbook_key][u.channel] = u.count
    playbooks = [
        _playbook(
            key,
            by_key.get(key, []),
            used.get(key, {}),
            holdout=holdouts.get(key),
            costs=costs,
            rates=rates,
            confidence=confidence,
        )
        for key in sorted({*holdouts, *by_key})
    ]
    return RoiReport(
        from_=start,
        to=end,
        as_of=as_of,
        currency=rates.reporting,
        rates=dict(rates.to_reporting),
        revenue_months=costs.revenue_months,
        confidence=confidence,
        costs=CostModel(
            currency=costs.currency,
            message_cost_minor=costs.message_cost_minor.model_dump(),
            task_hours=costs.task_hours,
            hourly_rate_minor=costs.hourly_rate_minor,
        ),
        playbooks=playbooks,
        total=_total(playbooks),
    )
