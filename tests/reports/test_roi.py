"""The ROI report on small hand-made arms, on SQLite and PostgreSQL: exact retention, money,
costs, ROI and intervals checked against a hand computation; playbooks without a holdout;
an empty window; the API's validation, scopes and hostile parameters; the CLI."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.reports.roi_data import DAY, message, run, supplier
from wedsync_success.config import get_settings
from wedsync_success.context import AppContext
from wedsync_success.interventions.models import Arm, DeliveryStatus, RunStatus
from wedsync_success.kit.currency import Rates
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.costs import MessageCosts, ProgrammeCosts
from wedsync_success.reports.roi import roi_report
from wedsync_success.reports.roi_schemas import RoiReport

START, END = date(2026, 3, 1), date(2026, 6, 1)
START_AT = datetime(2026, 3, 1, tzinfo=UTC)
END_AT = datetime(2026, 6, 1, tzinfo=UTC)
RATES = Rates("GBP", {"EUR": 0.8696})
COSTS = ProgrammeCosts(
    message_cost_minor=MessageCosts(email=10, in_app=0, sms=50),
    task_hours=0.5,
    hourly_rate_minor=4000,
    revenue_months=12,
)
HOLDOUTS = {"at_risk_rescue": 0.2, "no_holdout": 0.0, "quiet": 0.1}
Z = 1.959963984540054  # the 97.5 % standard normal quantile


def wilson(x: int, n: int) -> tuple[float, float, float]:
    """The Wilson score interval, written out by hand (independent of the code under test)."""
    p = x / n
    centre = (2 * x + Z * Z) / (2 * (n + Z * Z))
    half = Z * math.sqrt(Z * Z + 4 * x * (1 - p)) / (2 * (n + Z * Z))
    return p, 0.0 if x == 0 else centre - half, 1.0 if x == n else centre + half


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    p1, l1, u1 = wilson(x1, n1)
    p2, l2, u2 = wilson(x2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(low, -1.0), min(high, 1.0)


@pytest.fixture
async def arms(ctx: AppContext) -> None:
    """at_risk_rescue: 4 treated (3 kept) and 2 control (1 kept); no_holdout: treated only;
    retired: one treated (kept) and one control (lost), no longer in the playbooks file."""
    mid = START_AT + 30 * DAY
    t1 = run(
        await supplier(ctx, ended_at=None),
        "at_risk_rescue",
        arm=Arm.TREATMENT,
        enrolled_at=mid,
        mrr=3000,
        status=RunStatus.GOAL_REACHED,
    )
    t2 = run(  # enrolled at the window's first instant: inside
        await supplier(ctx, ended_at=None),
        "at_risk_rescue",
        arm=Arm.TREATMENT,
        enrolled_at=START_AT,
        mrr=2000,
    )
    t3 = run(  # ends at the window's end exactly: not a customer then (half-open)
        await supplier(ctx, ended_at=END_AT),
        "at_risk_rescue",
        arm=Arm.TREATMENT,
        enrolled_at=mid,
        mrr=1500,
    )
    t4 = run(  # a second later: still a customer at the end; EUR 20.00 = 1739.2 pence
        await supplier(ctx, ended_at=END_AT + timedelta(seconds=1)),
        "at_risk_rescue",
        arm=Arm.TREATMENT,
        enrolled_at=mid,
        mrr=2000,
        currency="EUR",
    )
    c1 = run(
        await supplier(ctx, ended_at=mid + 10 * DAY),
        "at_risk_rescue",
        arm=Arm.CONTROL,
        enrolled_at=mid,
        mrr=2500,
    )
    c2 = run(
        await supplier(ctx, ended_at=None),
        "at_risk_rescue",
        arm=Arm.CONTROL,
        enrolled_at=mid,
        mrr=900,
        status=RunStatus.GOAL_REACHED,
    )
    outside = [
        run(t1.supplier_id, "at_risk_rescue", arm=Arm.TREATMENT, enrolled_at=END_AT, mrr=7),
        run(t1.supplier_id, "at_risk_rescue", arm=Arm.CONTROL, enrolled_at=START_AT - DAY, mrr=7),
    ]
    n1 = run(
        await supplier(ctx, ended_at=None),
        "no_holdout",
        arm=Arm.TREATMENT,
        enrolled_at=mid,
        mrr=800,
    )
    n2 = run(
        await supplier(ctx, ended_at=mid), "no_holdout", arm=Arm.TREATMENT, enrolled_at=mid, mrr=800
    )
    r1 = run(
        await supplier(ctx, ended_at=None), "retired", arm=Arm.TREATMENT, enrolled_at=mid, mrr=1000
    )
    r2 = run(
        await supplier(ctx, ended_at=mid + DAY),
        "retired",
        arm=Arm.CONTROL,
        enrolled_at=mid,
        mrr=1000,
    )
    messages = [
        message(t1, 0, "email", DeliveryStatus.SENT),
        message(t1, 1, "sms", DeliveryStatus.SENT),
        message(t1, 2, "in_app", DeliveryStatus.SENT),
        message(t1, 3, "task", DeliveryStatus.SENT),
        message(t2, 0, "email", DeliveryStatus.FAILED),  # handed to the relay: it cost
        message(t3, 0, "email", DeliveryStatus.CAPPED),  # never handed over
        message(t4, 0, "webhook", DeliveryStatus.SENT),  # not a costed channel
        message(t4, 1, "sms", DeliveryStatus.SENT, at=END_AT),  # after the window
        message(c1, 0, "email", DeliveryStatus.SUPPRESSED),  # the control arm
        message(outside[0], 0, "email", DeliveryStatus.SENT),
        message(n1, 0, "email", DeliveryStatus.SENT),
    ]
    async with ctx.db.transaction() as session:
        session.add_all([t1, t2, t3, t4, c1, c2, *outside, n1, n2, r1, r2])
        await session.flush()
        session.add_all(messages)


async def _report(ctx: AppContext, start: date = START, end: date = END) -> RoiReport:
    async with ctx.db.sessions() as session:
        return await roi_report(
            session=session,
            start=start,
            end=end,
            as_of=ctx.clock(),
            holdouts=HOLDOUTS,
            costs=COSTS,
            rates=RATES,
        )


async def test_golden_roi_per_playbook(ctx: AppContext, arms: None) -> None:
    report = await _report(ctx)
    by_key = {p.playbook_key: p for p in report.playbooks}
    assert list(by_key) == ["at_risk_rescue", "no_holdout", "quiet", "retired"]
    p = by_key["at_risk_rescue"]
    assert (p.treated.suppliers, p.treated.retained, p.treated.retention) == (4, 3, 0.75)
    assert (p.control.suppliers, p.control.retained, p.control.retention) == (2, 1, 0.5)
    # Save rate: recovered (goal reached, still a customer) / (recovered + lost).
    assert (p.treated.recovered, p.treated.lost, p.treated.save_rate) == (1, 1, 0.5)
    assert (p.control.recovered, p.control.lost, p.control.save_rate) == (1, 1, 0.5)
    assert p.measurable
    assert p.reason is None
    assert p.holdout == 0.2
    _d, low, high = newcombe(3, 4, 1, 2)
    assert p.uplift.difference == pytest.approx(0.25)
    assert p.uplift.low == pytest.approx(low, abs=1e-12)
    assert p.uplift.high == pytest.approx(high, abs=1e-12)
    assert low == pytest.approx(-0.35525011, abs=1e-8)
    assert high == pytest.approx(0.70408095, abs=1e-8)
    # Treated MRR: 3000 + 2000 + 1500 pence + EUR 2000 cents x 0.8696 = 8239 pence.
    assert p.treated_mrr_minor == 8239
    assert p.incremental_mrr is not None
    assert p.incremental_mrr.estimate_minor == round(0.25 * 8239) == 2060
    assert p.incremental_mrr.low_minor == round(low * 8239) == -2927
    assert p.incremental_mrr.high_minor == round(high * 8239) == 5801
    assert p.incremental_revenue is not None
    assert (
        p.incremental_revenue.estimate_minor,
        p.incremental_revenue.low_minor,
        p.incremental_revenue.high_minor,
    ) == (2060 * 12, -2927 * 12, 5801 * 12)
    # Cost: 2 emails x 10 + 1 SMS x 50 + 1 in-app x 0 = 70; 1 task x 0.5 h x 4000 = 2000.
    assert p.cost.messages == {"email": 2, "in_app": 1, "sms": 1}
    assert (p.cost.tasks, p.cost.messages_minor, p.cost.tasks_minor) == (1, 70, 2000)
    assert p.cost.total_minor == 2070
    assert p.roi is not None
    assert p.roi.estimate == pytest.approx((24720 - 2070) / 2070)
    assert p.roi.low == pytest.approx((-35124 - 2070) / 2070)
    assert p.roi.high == pytest.approx((69612 - 2070) / 2070)


async def test_no_holdout_cannot_be_measured(ctx: AppContext, arms: None) -> None:
    report = await _report(ctx)
    by_key = {p.playbook_key: p for p in report.playbooks}
    p = by_key["no_holdout"]
    assert not p.measurable
    assert p.reason is not None
    assert "holdout is 0" in p.reason
    assert "cannot be measured" in p.reason
    assert p.treated.suppliers == 2
    assert p.control.suppliers == 0
    assert p.uplift.difference is None
    assert p.uplift.low is None
    assert p.incremental_mrr is None
    assert p.incremental_revenue is None
    assert p.roi is None
    assert p.cost.total_minor == 10  # its cost is shown, never counted as an effect
    quiet = by_key["quiet"]
    assert not quiet.measurable
    assert quiet.reason is not None
    assert "no runs" in quiet.reason
    retired = by_key["retired"]
    assert retired.measurable
    assert retired.holdout is None
    assert retired.roi is None
    assert retired.roi_reason is not None
    assert "cost nothing" in retired.roi_reason


async def test_total_sums_measurable_playbooks_only(ctx: AppContext, arms: None) -> None:
    total = (await _report(ctx)).total
    assert total.playbooks == ["at_risk_rescue", "retired"]
    assert [(x.playbook_key, "cannot be measured" in x.reason) for x in total.left_out] == [
        ("no_holdout", True),
        ("quiet", True),
    ]
    assert (total.treated, total.control, total.cost_minor) == (5, 3, 2070)
    # retired: uplift 1 - 0 = 1 on 1000 pence, Newcombe [-0.1221, 1]: MRR [-122, 1000].
    _, low, _ = newcombe(1, 1, 0, 1)
    retired = (1000 * 12, round(low * 1000) * 12, 1000 * 12)
    rescue = (24720, -35124, 69612)
    estimate = rescue[0] + retired[0]
    mover_low = estimate - math.hypot(rescue[0] - rescue[1], retired[0] - retired[1])
    mover_high = estimate + math.hypot(rescue[2] - rescue[0], retired[2] - retired[0])
    assert total.incremental_revenue is not None
    assert total.incremental_revenue.estimate_minor == estimate == 36720
    assert total.incremental_revenue.low_minor == round(mover_low)
    assert total.incremental_revenue.high_minor == round(mover_high) == 81612
    assert total.roi is not None
    assert total.roi.estimate == pytest.approx((36720 - 2070) / 2070)
    assert total.roi.low == pytest.approx((round(mover_low) - 2070) / 2070)


async def test_an_empty_window_measures_nothing(ctx: AppContext, arms: None) -> None:
    report = await _report(ctx, date(2025, 1, 1), date(2025, 2, 1))
    assert [p.playbook_key for p in report.playbooks] == sorted(HOLDOUTS)
    assert all(not p.measurable and p.cost.total_minor == 0 for p in report.playbooks)
    assert report.total.playbooks == []
    assert report.total.roi is None
    assert report.total.incremental_mrr is None
    assert report.total.roi_reason == "no playbook's effect can be measured in the window"


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (END, START, "must be after from"),
        (START, START, "must be after from"),
        (START, date(2026, 6, 16), "must not be after 2026-06-15"),
    ],
)
async def test_bad_windows_name_to(ctx: AppContext, start: date, end: date, reason: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await _report(ctx, start, end)
    assert refused.value.details[0]["field"] == "to"
    assert reason in refused.value.details[0]["reason"]


async def test_api_matches_the_service(
    ctx: AppContext, arms: None, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/api/v1/reports/roi", params={"from": "2026-03-01", "to": "2026-06-01"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == "2026-03-01"
    assert body["to"] == "2026-06-01"
    assert body["currency"] == "GBP"
    keys = {p["playbook_key"]: p for p in body["playbooks"]}
    # The shipped playbooks file and cost model: every shipped playbook is listed.
    assert {p.key for p in ctx.interventions.catalog.playbooks} <= set(keys)
    rescue = keys["at_risk_rescue"]
    assert (rescue["treated"]["suppliers"], rescue["control"]["suppliers"]) == (4, 2)
    shipped = ctx.programme_costs
    expected = round(2 * shipped.message_cost_minor.email + shipped.message_cost_minor.sms)
    assert rescue["cost"]["messages_minor"] == expected
    assert body["total"]["left_out"][0]["reason"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-06-01", "to": "2026-03-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-06-01"}, "from"),
        ({"from": "2026-03-01", "to": "tomorrow"}, "to"),
        ({"to": "2026-06-01"}, "from"),
        ({"from": "2026-03-01", "to": "2099-01-01"}, "to"),
    ],
)
async def test_api_validation_names_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/reports/roi", params=params)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


async def test_scopes(client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    params = {"from": "2026-03-01", "to": "2026-06-01"}
    for path in ("/api/v1/reports/roi", "/api/v1/reports/model-accuracy"):
        anonymous = await client.get(path, params=params, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        ingest = await client.get(
            path, params=params, headers={"Authorization": f"Bearer {api_keys['ingest']}"}
        )
        assert ingest.status_code == 403
        read = await client.get(
            path, params=params, headers={"Authorization": f"Bearer {api_keys['read']}"}
        )
        assert read.status_code == 200, read.text


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.one_of(st.dates(date(1990, 1, 1), date(2120, 1, 1)).map(str), st.text(max_size=12)),
    end=st.one_of(st.dates(date(1990, 1, 1), date(2120, 1, 1)).map(str), st.text(max_size=12)),
)
async def test_hostile_params_are_answered_or_refused(
    client: httpx.AsyncClient, start: str, end: str
) -> None:
    for path in ("/api/v1/reports/roi", "/api/v1/reports/model-accuracy"):
        response = await client.get(path, params={"from": start, "to": end})
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            fields = {d["field"] for d in response.json()["error"]["details"]}
            assert fields <= {"from", "to"}, fields


def test_cli_formats(
    ctx: AppContext, arms: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from wedsync_success.cli import app

    monkeypatch.setenv("WEDSYNC_DATABASE_URL", ctx.settings.database_url)
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)
    runner = CliRunner()
    window = ["--from", "2026-03-01", "--to", "2026-06-01"]
    as_json = runner.invoke(app, ["report", "roi", *window, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["from"] == "2026-03-01"
    assert "at_risk_rescue" in {p["playbook_key"] for p in body["playbooks"]}
    as_csv = runner.invoke(app, ["report", "roi", *window, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.output.splitlines()
    assert lines[0].startswith("playbook_key,measurable,reason,treated")
    assert any(line.startswith("at_risk_rescue,True,,4,3,0.75,2,1,0.5") for line in lines)
    assert lines[-1].startswith("TOTAL,")
    table = runner.invoke(app, ["report", "roi", *window])
    assert table.exit_code == 0, table.output
    assert "cannot be measured" in table.output
    bad = runner.invoke(app, ["report", "roi", "--from", "2026-06-01", "--to", "2026-03-01"])
    assert bad.exit_code == 1
    assert "to" in bad.output
    assert "must be after from" in bad.output
