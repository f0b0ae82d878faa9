"""The retention report on a hand-computed history, on both backends.

Nine suppliers, reported by month over January to March 2026 (GBP, 1 EUR = 0.8 GBP, no rate
for CHF). The figures below were worked out by hand from the histories:

- ``upgrade``: starter £19 from 1 Dec, professional £49 from 10 Feb (expansion in February).
- ``downgrade``: scale £129 less a £9 discount until 15 Jan, then starter £19 (contraction).
- ``two_at_once``: professional £49 throughout plus starter £19 from 20 Jan to 5 Mar.
- ``at_boundary``: starter £19 ending exactly at 1 Feb (churned in January, not February).
- ``comes_back``: professional £49 Sep to Nov 2025, again from 15 Feb (reactivated in February).
- ``euro``: new in January at €55.
- ``row_only``: no periods; its row says £29 from June 2025 to exactly 1 March.
- ``passing``: starter 5 to 25 January: joined and left inside January, so it moves nothing.
- ``franc``: CHF 30 throughout: counted, never converted.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.reports.histories import P, Row, day, store
from wedsync_success.context import AppContext
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.retention import retention_report
from wedsync_success.reports.schemas import MrrMovement
from wedsync_success.reports.windows import MAX_PERIODS, ReportPeriod, boundaries
from wedsync_success.suppliers.models import Supplier
from wedsync_success.suppliers.subscriptions import active_at_by_periods

RATES = Rates("GBP", {"EUR": 0.8})

HISTORY: dict[str, list[P] | Row] = {
    "upgrade": [
        P("starter", day(2025, 12), day(2026, 2, 10), 1900),
        P("professional", day(2026, 2, 10), None, 4900),
    ],
    "downgrade": [
        P("scale", day(2025, 11), day(2026, 1, 15), 12900, discount=900),
        P("starter", day(2026, 1, 15), None, 1900),
    ],
    "two_at_once": [
        P("professional", day(2025, 12), None, 4900),
        P("starter", day(2026, 1, 20), day(2026, 3, 5), 1900),
    ],
    "at_boundary": [P("starter", day(2025, 10), day(2026, 2), 1900)],
    "comes_back": [
        P("professional", day(2025, 9), day(2025, 12), 4900),
        P("professional", day(2026, 2, 15), None, 4900),
    ],
    "euro": [P("professional", day(2026, 1, 10), None, 5500, currency="EUR")],
    "row_only": Row(day(2025, 6), day(2026, 3), 2900),
    "passing": [P("starter", day(2026, 1, 5), day(2026, 1, 25), 1900)],
    "franc": [P("professional", day(2025, 12), None, 3000, currency="CHF")],
}


def mrr(start: int, new: int, exp: int, contr: int, churned: int, react: int) -> MrrMovement:
    end = start + new + exp - contr - churned + react
    return MrrMovement(
        mrr_start=start,
        mrr_new=new,
        mrr_expansion=exp,
        mrr_contraction=contr,
        mrr_churned=churned,
        mrr_reactivation=react,
        mrr_end=end,
        mrr_churn_rate=(churned + contr) / start if start else None,
        grr=(start - churned - contr) / start if start else None,
        nrr=(start - churned - contr + exp) / start if start else None,
    )


async def test_monthly_movements_match_the_hand_computed_figures(ctx: AppContext) -> None:
    await store(ctx, HISTORY)
    async with ctx.db.sessions() as session:
        report = await retention_report(
            session=session,
            start=date(2026, 1, 1),
            end=date(2026, 4, 1),
            period=ReportPeriod.MONTH,
            rates=RATES,
        )
    assert report.suppliers_without_history == 1
    assert (report.reporting_currency, report.rates, report.not_converted) == (
        "GBP",
        {"EUR": 0.8},
        ["CHF"],
    )
    jan, feb, mar = report.periods
    logos = [
        (p.active_at_start, p.churned, p.new, p.reactivated, p.active_at_end)
        for p in report.periods
    ]
    assert logos == [(6, 1, 1, 0, 6), (6, 1, 0, 1, 6), (6, 0, 0, 0, 6)]
    assert [(p.start, p.end, p.days, p.complete) for p in report.periods] == [
        (date(2026, 1, 1), date(2026, 2, 1), 31, True),
        (date(2026, 2, 1), date(2026, 3, 1), 28, True),
        (date(2026, 3, 1), date(2026, 4, 1), 31, True),
    ]
    # January: downgrade -£101 (120 -> 19), two_at_once +£19, at_boundary churns £19.
    assert jan.mrr["GBP"] == mrr(23600, 0, 1900, 10100, 1900, 0)
    assert jan.mrr["EUR"] == mrr(0, 5500, 0, 0, 0, 0)
    assert jan.mrr["CHF"] == mrr(3000, 0, 0, 0, 0, 0)
    assert jan.reporting == mrr(23600, 4400, 1900, 10100, 1900, 0)
    # February: upgrade +£30, row_only churns £29 at 1 March, comes_back returns with £49.
    assert feb.mrr["GBP"] == mrr(13500, 0, 3000, 0, 2900, 4900)
    assert feb.reporting == mrr(13500 + 4400, 0, 3000, 0, 2900, 4900)
    # March: two_at_once's starter ends on 5 March.
    assert mar.mrr["GBP"] == mrr(18500, 0, 0, 1900, 0, 0)
    assert mar.reporting.mrr_end == 16600 + 4400
    assert jan.logo_churn_rate == pytest.approx(1 / 6)
    assert jan.monthly_logo_churn == jan.logo_churn_rate
    assert jan.annualised_logo_churn == pytest.approx(1 - (5 / 6) ** 12)
    assert (mar.logo_churn_rate, mar.annualised_logo_churn) == (0.0, 0.0)


async def test_another_reporting_currency_rebases_the_rates(ctx: AppContext) -> None:
    await store(ctx, HISTORY)
    async with ctx.db.sessions() as session:
        report = await retention_report(
            session=session,
            start=date(2026, 1, 1),
            end=date(2026, 2, 1),
            period=ReportPeriod.MONTH,
            rates=RATES,
            currency="EUR",
        )
        with pytest.raises(ValidationFailed) as refused:
            await retention_report(
                session=session,
                start=date(2026, 1, 1),
                end=date(2026, 2, 1),
                period=ReportPeriod.MONTH,
                rates=RATES,
                currency="CHF",
            )
    assert refused.value.details[0]["field"] == "currency"
    assert (report.reporting_currency, report.rates) == ("EUR", {"GBP": pytest.approx(1.25)})
    [jan] = report.periods
    assert jan.reporting == mrr(29500, 5500, 2375, 12625, 2375, 0)


async def test_weeks_are_scaled_to_a_month_and_the_last_is_cut(ctx: AppContext) -> None:
    await store(ctx, HISTORY)
    async with ctx.db.sessions() as session:
        report = await retention_report(
            session=session,
            start=date(2026, 1, 26),
            end=date(2026, 2, 10),
            period=ReportPeriod.WEEK,
            rates=RATES,
        )
    spans = [(p.start, p.end, p.days, p.complete) for p in report.periods]
    assert spans == [
        (date(2026, 1, 26), date(2026, 2, 2), 7, True),
        (date(2026, 2, 2), date(2026, 2, 9), 7, True),
        (date(2026, 2, 9), date(2026, 2, 10), 1, False),
    ]
    first = report.periods[0]
    # Active at 26 Jan: upgrade, downgrade, two_at_once, at_boundary, euro, row_only, franc.
    assert (first.active_at_start, first.churned) == (7, 1)
    monthly = 1 - (6 / 7) ** (30.4375 / 7)
    assert first.monthly_logo_churn == pytest.approx(monthly)
    assert first.annualised_logo_churn == pytest.approx(1 - (1 - monthly) ** 12)
    # 9 Feb -> 10 Feb: the upgrade starts exactly at the end instant, so it is seen there.
    last = report.periods[-1]
    assert last.mrr["GBP"].mrr_expansion == 3000


async def test_a_report_on_years_before_any_history_is_empty(ctx: AppContext) -> None:
    await store(ctx, HISTORY)
    async with ctx.db.sessions() as session:
        report = await retention_report(
            session=session,
            start=date(2019, 1, 1),
            end=date(2020, 1, 1),
            period=ReportPeriod.QUARTER,
            rates=RATES,
        )
    assert len(report.periods) == 4
    assert all(p.active_at_start == p.active_at_end == 0 for p in report.periods)
    assert all(p.logo_churn_rate is None and p.mrr == {} for p in report.periods)


def test_boundaries_step_from_the_first_day() -> None:
    months = boundaries(start=date(2026, 1, 31), end=date(2026, 4, 15), period=ReportPeriod.MONTH)
    assert months == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 15),
    ]
    quarters = boundaries(
        start=date(2025, 11, 1), end=date(2026, 5, 1), period=ReportPeriod.QUARTER
    )
    assert quarters == [date(2025, 11, 1), date(2026, 2, 1), date(2026, 5, 1)]


@pytest.mark.parametrize(
    ("start", "end", "period", "reason"),
    [
        (date(2026, 2, 1), date(2026, 2, 1), ReportPeriod.MONTH, "must be after from"),
        (date(2026, 2, 1), date(2026, 1, 1), ReportPeriod.WEEK, "must be after from"),
        (date(2020, 1, 1), date(2025, 1, 2), ReportPeriod.MONTH, f"at most {MAX_PERIODS}"),
    ],
)
def test_bad_windows_are_refused_naming_the_field(
    start: date, end: date, period: ReportPeriod, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        boundaries(start=start, end=end, period=period)
    [detail] = refused.value.details
    assert detail["field"] == "to"
    assert reason in detail["reason"]


def test_exactly_the_cap_is_allowed() -> None:
    edges = boundaries(start=date(2020, 1, 1), end=date(2025, 1, 1), period=ReportPeriod.MONTH)
    assert len(edges) == MAX_PERIODS + 1


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        # 1 Feb: at_boundary's period ends exactly then; comes_back is in its gap.
        (day(2026, 2), {"upgrade", "downgrade", "two_at_once", "euro", "row_only", "franc"}),
        # 1 Mar: row_only's row ends exactly then; comes_back is back since 15 Feb.
        (day(2026, 3), {"upgrade", "downgrade", "two_at_once", "euro", "comes_back", "franc"}),
        (day(2026, 1, 10), {*HISTORY} - {"comes_back"}),
    ],
)
async def test_active_at_by_periods_is_the_reports_rule_in_sql(
    ctx: AppContext, moment: datetime, active: set[str]
) -> None:
    await store(ctx, HISTORY)
    async with ctx.db.sessions() as session:
        names = await session.scalars(
            select(Supplier.business_name).where(active_at_by_periods(moment))
        )
        assert set(names) == active


async def test_a_period_over_exactly_at_the_start_makes_a_return_a_reactivation(
    ctx: AppContext,
) -> None:
    """The earlier period is not read (it covers no instant of the window): the supplier
    still counts as coming back, not as new."""
    await store(
        ctx,
        {
            "back": [
                P("starter", day(2025, 10), day(2026, 2), 1900),
                P("starter", day(2026, 2, 10), None, 1900),
            ],
            "first_time": [P("starter", day(2026, 2, 10), None, 1900)],
        },
    )
    async with ctx.db.sessions() as session:
        report = await retention_report(
            session=session,
            start=date(2026, 2, 1),
            end=date(2026, 3, 1),
            period=ReportPeriod.MONTH,
            rates=RATES,
        )
    [feb] = report.periods
    assert (feb.active_at_start, feb.new, feb.reactivated, feb.active_at_end) == (0, 1, 1, 2)
    assert (feb.mrr["GBP"].mrr_new, feb.mrr["GBP"].mrr_reactivation) == (1900, 1900)
