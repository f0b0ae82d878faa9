"""NPS and CSAT exactly as the design notes define them, over time and by segment.

- NPS = % promoters (9-10) - % detractors (0-6) of the NPS responses, -100 to 100.
- CSAT = the share of CSAT responses scoring 4-5 of 5, in percent.

Responses are counted in SQL per calendar period (UTC quarter or month, or ISO week from
Monday; the reports' one :class:`~wedsync_success.reports.windows.ReportPeriod`, aligned to the
calendar here) and segment (the supplier's current vendor type, plan or country, or the
trigger of the survey answered); the figures are then added
up here, so a window's total is exactly the sum of its periods. A window ``[from, to)`` that
does not start or end on a period boundary clips its first and last period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.windows import ReportPeriod
from wedsync_success.surveys import repository
from wedsync_success.surveys.kinds import SurveyKind
from wedsync_success.surveys.repository import ScoreCounts
from wedsync_success.surveys.schemas import (
    CsatFigures,
    CsatPeriod,
    CsatReport,
    NpsFigures,
    NpsPeriod,
    NpsReport,
    Segment,
)

MAX_PERIODS = 520
"""Ten years of weeks: the longest series one report answers."""


def nps_of(promoters: int, detractors: int, responses: int) -> float | None:
    """% promoters - % detractors; ``None`` without responses."""
    return None if responses == 0 else 100.0 * (promoters - detractors) / responses


def csat_of(satisfied: int, responses: int) -> float | None:
    """The share of responses scoring 4-5, in percent; ``None`` without responses."""
    return None if responses == 0 else 100.0 * satisfied / responses


def _next_start(start: date, period: ReportPeriod) -> date:
    if period is ReportPeriod.WEEK:
        return start + timedelta(days=7)
    months = 3 if period is ReportPeriod.QUARTER else 1
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _first_start(day: date, period: ReportPeriod) -> date:
    if period is ReportPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    if period is ReportPeriod.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return day.replace(day=1)


def period_bounds(start: date, end: date, period: ReportPeriod) -> list[tuple[date, date, date]]:
    """The calendar periods covering ``[start, end)``: (bucket, clipped start, clipped end)."""
    if end <= start:
        raise ValidationFailed(
            "`to` must be after `from`", details=[{"field": "to", "reason": "not after from"}]
        )
    out: list[tuple[date, date, date]] = []
    bucket = _first_start(start, period)
    while bucket < end:
        following = _next_start(bucket, period)
        out.append((bucket, max(bucket, start), min(following, end)))
        if len(out) > MAX_PERIODS:
            raise ValidationFailed(
                f"At most {MAX_PERIODS} periods per report",
                details=[{"field": "period", "reason": f"more than {MAX_PERIODS} periods"}],
            )
        bucket = following
    return out


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def _counts(
    session: AsyncSession,
    kind: SurveyKind,
    start: date,
    end: date,
    period: ReportPeriod,
    by: Segment,
) -> tuple[list[tuple[date, date, date]], list[ScoreCounts]]:
    bounds = period_bounds(start, end, period)
    cells = await repository.score_counts(
        session, kind=kind, start=_instant(start), end=_instant(end), period=period, by=by
    )
    return bounds, cells


def _sum(cells: Iterable[ScoreCounts]) -> tuple[int, int, int]:
    n = high = low = 0
    for cell in cells:
        n, high, low = n + cell.responses, high + cell.high, low + cell.low
    return n, high, low


def _by_segment(cells: Iterable[ScoreCounts]) -> dict[str, list[ScoreCounts]]:
    grouped: dict[str, list[ScoreCounts]] = defaultdict(list)
    for cell in cells:
        grouped[str(cell.segment)].append(cell)
    return dict(sorted(grouped.items()))


def _nps(segment: str | None, cells: Iterable[ScoreCounts]) -> NpsFigures:
    n, promoters, detractors = _sum(cells)
    return NpsFigures(
        segment=segment,
        responses=n,
        promoters=promoters,
        passives=n - promoters - detractors,
        detractors=detractors,
        nps=nps_of(promoters, detractors, n),
    )


def _csat(segment: str | None, cells: Iterable[ScoreCounts]) -> CsatFigures:
    n, satisfied, _ = _sum(cells)
    return CsatFigures(
        segment=segment, responses=n, satisfied=satisfied, csat=csat_of(satisfied, n)
    )


async def nps_report(
    *, session: AsyncSession, start: date, end: date, period: ReportPeriod, by: Segment
) -> NpsReport:
    """NPS over ``[start, end)`` per period (and segment), with response counts."""
    bounds, cells = await _counts(session, SurveyKind.NPS, start, end, period, by)
    in_bucket: dict[date, list[ScoreCounts]] = defaultdict(list)
    for cell in cells:
        in_bucket[cell.bucket].append(cell)
    segmented = by is not Segment.NONE
    return NpsReport(
        from_=start,
        to=end,
        period=period,
        by=by,
        total=_nps(None, cells),
        segments=[_nps(k, v) for k, v in _by_segment(cells).items()] if segmented else [],
        periods=[
            NpsPeriod(
                start=first,
                end=last,
                total=_nps(None, in_bucket[bucket]),
                segments=(
                    [_nps(k, v) for k, v in _by_segment(in_bucket[bucket]).items()]
                    if segmented
                    else []
                ),
            )
            for bucket, first, last in bounds
        ],
    )


async def csat_report(
    *, session: AsyncSession, start: date, end: date, period: ReportPeriod, by: Segment
) -> CsatReport:
    """CSAT over ``[start, end)`` per period (and segment), with response counts."""
    bounds, cells = await _counts(session, SurveyKind.CSAT, start, end, period, by)
    in_bucket: dict[date, list[ScoreCounts]] = defaultdict(list)
    for cell in cells:
        in_bucket[cell.bucket].append(cell)
    segmented = by is not Segment.NONE
    return CsatReport(
        from_=start,
        to=end,
        period=period,
        by=by,
        total=_csat(None, cells),
        segments=[_csat(k, v) for k, v in _by_segment(cells).items()] if segmented else [],
        periods=[
            CsatPeriod(
                start=first,
                end=last,
                total=_csat(None, in_bucket[bucket]),
                segments=(
                    [_csat(k, v) for k, v in _by_segment(in_bucket[bucket]).items()]
                    if segmented
                    else []
                ),
            )
            for bucket, first, last in bounds
        ],
    )
