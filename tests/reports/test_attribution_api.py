"""GET /api/v1/reports/attribution and ``report attribution``: the hand-worked history's
answer, and every bad parameter refused with 422 naming it (never a 500)."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.reports.attribution_data import store_history
from wedsync_success.config import get_settings
from wedsync_success.context import AppContext

PATH = "/api/v1/reports/attribution"
MAY = {"from": "2026-05-01", "to": "2026-06-01"}


async def test_the_report_over_http(ctx: AppContext, client: httpx.AsyncClient) -> None:
    await store_history(ctx)
    both = (await client.get(PATH, params={**MAY, "window_days": 30})).json()
    assert both["from"] == "2026-05-01"
    assert both["window_days"] == 30
    assert both["models"] == ["first_touch", "last_touch", "linear"]
    assert {c["kind"]: c["conversions"] for c in both["conversions"]} == {
        "referral_converted": 1,
        "renewal": 2,
        "upgrade": 1,
    }
    linear = (await client.get(PATH, params={**MAY, "model": "linear"})).json()
    assert linear["window_days"] == 30  # WEDSYNC_ATTRIBUTION_WINDOW_DAYS's default
    assert {tuple(r["credit"]) for r in linear["credit"]} == {("linear",)}
    credit = {(r["kind"], r["touch_type"]): r["credit"]["linear"] for r in linear["credit"]}
    assert credit[("renewal", "supplier.milestone_achieved")] == pytest.approx(2 / 3)
    assert sum(credit.values()) == pytest.approx(3)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"window_days": 0}, "window_days"),
        ({"window_days": 366}, "window_days"),
        ({"window_days": "a week"}, "window_days"),
        ({"model": "u_shaped"}, "model"),
        ({"from": "2026-06-01", "to": "2026-05-01"}, "to"),
        ({"from": "2026-05-01", "to": "2026-05-01"}, "to"),
        ({"from": "2026-05-01", "to": "2050-05-01"}, "to"),  # over 20 years
        ({"from": "yesterday"}, "from"),
        ({"from": "2099-01-01"}, "from"),  # after the default to (tomorrow)
    ],
)
async def test_a_bad_parameter_is_refused_naming_it(
    client: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    response = await client.get(PATH, params=params)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.one_of(st.dates(date(1990, 1, 1), date(2120, 1, 1)).map(str), st.text(max_size=12)),
    end=st.one_of(st.dates(date(1990, 1, 1), date(2120, 1, 1)).map(str), st.text(max_size=12)),
    window=st.one_of(st.integers(-(2**70), 2**70).map(str), st.text(max_size=6)),
    model=st.one_of(st.sampled_from(["linear", "first_touch", "last_touch"]), st.text(max_size=8)),
)
async def test_hostile_params_are_answered_or_refused(
    client: httpx.AsyncClient, start: str, end: str, window: str, model: str
) -> None:
    params = {"from": start, "to": end, "window_days": window, "model": model}
    response = await client.get(PATH, params=params)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        fields = {d["field"] for d in response.json()["error"]["details"]}
        assert fields <= {"from", "to", "window_days", "model"}, fields


def test_the_command_line_in_each_format(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from wedsync_success.cli import app

    ctx_loop_history(ctx)
    monkeypatch.setenv("WEDSYNC_DATABASE_URL", ctx.settings.database_url)
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)
    runner = CliRunner()
    window = ["report", "attribution", "--from", "2026-05-01", "--to", "2026-06-01"]
    as_json = runner.invoke(app, [*window, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert {c["kind"]: c["attributed"] for c in body["conversions"]} == {
        "referral_converted": 1,
        "renewal": 1,
        "upgrade": 1,
    }
    as_csv = runner.invoke(app, [*window, "--model", "last_touch", "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.output.splitlines()
    assert (
        lines[0] == "kind,touch_type,touches,conversions,credit_last_touch,value_minor_last_touch"
    )
    assert "renewal,supplier.success_champion,1,1,1.0,4900" in lines
    table = runner.invoke(app, [*window, "--window-days", "7"])
    assert table.exit_code == 0, table.output
    shown = " ".join(table.output.split())
    assert "touches within 7 days before" in shown
    assert "referral_converted" in shown
    assert shown.count("1.00") == 3 * 3  # three touch types, each all of a conversion
    bad_model = runner.invoke(app, [*window, "--model", "u_shaped"])
    assert bad_model.exit_code == 2
    assert "--model" in bad_model.output
    bad_days = runner.invoke(app, [*window, "--window-days", "0"])
    assert bad_days.exit_code == 1
    assert "window_days" in bad_days.output


def ctx_loop_history(ctx: AppContext) -> None:
    """The history stored from this synchronous test (the CLI runs its own loop)."""
    import asyncio

    asyncio.run(_store(ctx.settings.database_url))


async def _store(url: str) -> None:
    from tests.conftest import TEST_SECRET_KEY
    from wedsync_success.config import Settings
    from wedsync_success.context import build_context

    other = build_context(Settings(database_url=url, secret_key=TEST_SECRET_KEY))
    try:
        await store_history(other)
    finally:
        await other.close()
