"""Success attribution on a small history whose credit is worked out by hand
(``attribution_data.py``), on both backends and under each model; the split's invariants
on any input; the request's refusals naming the parameter."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reports.attribution_data import store_history
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.attribution import (
    MAX_WINDOW_DAYS,
    attribution_report,
    check_request,
    split_credit,
)
from wedsync_success.reports.attribution_schemas import AttributionReport, CreditModel

FIRST, LAST, LINEAR = CreditModel.FIRST_TOUCH, CreditModel.LAST_TOUCH, CreditModel.LINEAR

# (kind, touch type): touches, conversions, credit (first, last, linear), value (same order)
EXPECTED = {
    # upgrade on 10 May (+2,000): health improved 15 Apr, sent 1 May, clicked 3 May
    ("upgrade", "supplier.health_improved"): (1, 1, (1, 0, 1 / 3), (2000, 0, 667)),
    ("upgrade", "intervention.sent"): (1, 1, (0, 0, 1 / 3), (0, 0, 667)),
    ("upgrade", "intervention.clicked"): (1, 1, (0, 1, 1 / 3), (0, 2000, 667)),
    # renewal on 20 May (4,900): milestones 1 and 2 May, champion 15 May
    ("renewal", "supplier.milestone_achieved"): (2, 1, (1, 0, 2 / 3), (4900, 0, 3267)),
    ("renewal", "supplier.success_champion"): (1, 1, (0, 1, 1 / 3), (0, 4900, 1633)),
    # referral converted on 25 May: a one-off message on 20 May
    ("referral_converted", "intervention.sent"): (1, 1, (1, 1, 1), (0, 0, 0)),
}


async def report(ctx: AppContext, **kw: object) -> AttributionReport:
    args: dict[str, object] = {
        "start": date(2026, 5, 1),
        "end": date(2026, 6, 1),
        "window_days": 30,
        "models": list(CreditModel),
        "rates": ctx.settings.rates,
        **kw,
    }
    async with ctx.db.sessions() as session:
        return await attribution_report(session=session, **args)  # type: ignore[arg-type]


async def test_the_hand_worked_history_under_each_model(ctx: AppContext) -> None:
    await store_history(ctx)
    got = await report(ctx)
    rows = {
        (r.kind.value, r.touch_type): (
            r.touches,
            r.conversions,
            tuple(r.credit[m] for m in (FIRST, LAST, LINEAR)),
            tuple(r.value_minor[m] for m in (FIRST, LAST, LINEAR)),
        )
        for r in got.credit
    }
    assert rows.keys() == EXPECTED.keys()  # no control-run message, decline or late touch
    for key, (touches, conversions, credit, value) in EXPECTED.items():
        assert rows[key][:2] == (touches, conversions), key
        assert rows[key][2] == pytest.approx(credit, abs=1e-6), key
        assert rows[key][3] == value, key
    counts = {
        c.kind.value: (c.conversions, c.attributed, c.unattributed, c.value_minor)
        for c in got.conversions
    }
    assert counts == {
        "referral_converted": (1, 1, 0, 0),
        "renewal": (2, 1, 1, 4900 + 2900),  # the quiet supplier's renewal has no touch
        "upgrade": (1, 1, 0, 2000),
    }
    assert got.credit[0].credit[LINEAR] == 1.0  # most credit first
    for model in CreditModel:  # every attributed conversion shares exactly one
        assert sum(r.credit[model] for r in got.credit) == pytest.approx(3)


async def test_one_model_and_a_shorter_window(ctx: AppContext) -> None:
    await store_history(ctx)
    got = await report(ctx, window_days=7, models=[LAST])
    assert got.models == [LAST]
    rows = {(r.kind.value, r.touch_type): (r.touches, r.credit) for r in got.credit}
    # 7 days: the upgrade keeps the 3 May click (not the 1 May send), the renewal the
    # champion of 15 May, the referral its message of 20 May
    assert rows == {
        ("upgrade", "intervention.clicked"): (1, {LAST: 1.0}),
        ("renewal", "supplier.success_champion"): (1, {LAST: 1.0}),
        ("referral_converted", "intervention.sent"): (1, {LAST: 1.0}),
    }


async def test_an_empty_window_reports_zero_conversions(ctx: AppContext) -> None:
    got = await report(ctx)
    assert got.credit == []
    assert [(c.conversions, c.value_minor) for c in got.conversions] == [(0, 0)] * 3


@given(
    groups=st.lists(
        st.lists(st.sampled_from(["", "a", "b", "c"]), min_size=1, max_size=6), max_size=30
    )
)
def test_each_conversion_shares_exactly_one_unit_of_credit(groups: list[list[str]]) -> None:
    groups = [g if "" not in g else [""] for g in groups]  # an untouched one has one row
    kinds = ["upgrade"] * sum(len(g) for g in groups)
    keys = [str(n) for n, g in enumerate(groups) for _ in g]
    types = [t for g in groups for t in g]
    split = split_credit(kinds, keys, types)
    for model, credit in split.credit.items():
        at = 0
        for g in groups:
            share = credit[at : at + len(g)]
            assert share.sum() == pytest.approx(0 if g == [""] else 1), model
            at += len(g)
    assert int(split.first_row.sum()) == len(groups)


@given(
    window_days=st.integers(min_value=-(2**40), max_value=2**40),
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)) | st.none(),
    end=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)) | st.none(),
)
def test_a_request_is_answered_or_refused_naming_its_parameter(
    window_days: int, start: date | None, end: date | None
) -> None:
    today = date(2026, 6, 15)
    try:
        first, after = check_request(
            given_from=start, given_to=end, window_days=window_days, today=today
        )
    except ValidationFailed as exc:
        [detail] = exc.details
        assert detail["field"] in {"from", "to", "window_days"}
        if not 1 <= window_days <= MAX_WINDOW_DAYS:
            assert detail["field"] == "window_days"
        return
    assert 1 <= window_days <= MAX_WINDOW_DAYS
    assert first < after
    assert first == (start or first)
    assert after == (end or after)
