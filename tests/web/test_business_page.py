"""The Business page and the monthly report: the month's figures from history, the charts,
refusals, and a report file that needs nothing else to show."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.helpers import create_supplier
from tests.web.signin import add_user, log_in
from wedsync_success.access.models import TeamRole
from wedsync_success.context import AppContext
from wedsync_success.web.security import REPORT_CSP


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, ctx: AppContext) -> httpx.AsyncClient:
    await add_user(ctx, role=TeamRole.VIEWER)
    assert (await log_in(client)).status_code == 303
    return client


async def _three_customers_one_leaving_in_may(client: httpx.AsyncClient) -> None:
    """Three customers since January at £49; one cancels on 20 May (the clock: 15 June)."""
    for _ in range(2):
        await create_supplier(client, subscription_started_at="2026-01-10T09:00:00+00:00")
    await create_supplier(
        client,
        subscription_started_at="2026-01-10T09:00:00+00:00",
        subscription_status="cancelled",
        subscription_ended_at="2026-05-20T10:00:00+00:00",
        cancellation_reason="price",
    )


def _kpi(html: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}">.*?<p class="kpi-value">([^<]*)</p>', html, re.S)
    assert found, f"no {name} figure on the page"
    return found.group(1).strip()


async def test_the_month_in_figures_and_charts(signed_in: httpx.AsyncClient) -> None:
    await _three_customers_one_leaving_in_may(signed_in)
    page = await signed_in.get("/business?month=2026-05&months=6")
    assert page.status_code == 200, page.text
    html = page.text
    assert _kpi(html, "logo-churn") == "33.3%"  # 1 of the 3 active on 1 May
    assert _kpi(html, "mrr") == "£98"  # two left at £49
    for chart in ("chart-mrr-movements", "chart-logo-churn", "chart-nrr-grr", "chart-survival"):
        assert f'id="{chart}"' in html
    assert "<svg" in html
    assert re.search(r"<th scope=\"row\">price</th><td>1</td>", html)  # why they left
    assert 'aria-current="page">Business</a>' in html
    # The default month is the last complete one (May, with the clock in June).
    assert "May 2026" in (await signed_in.get("/business")).text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-13", "month"),
        ("month=2026-07", "month"),
        ("months=0", "months"),
        ("by=x", "by"),
    ],
)
async def test_a_bad_period_is_refused_naming_it(
    signed_in: httpx.AsyncClient, query: str, field: str
) -> None:
    page = await signed_in.get(f"/business?{query}", headers={"Accept": "text/html"})
    assert page.status_code == 422
    assert field in page.text


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/business", "/business/monthly.html"):
        answer = await client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


async def test_the_printable_report_is_self_contained(signed_in: httpx.AsyncClient) -> None:
    await _three_customers_one_leaving_in_may(signed_in)
    answer = await signed_in.get("/business/monthly.html?month=2026-05")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == REPORT_CSP
    assert 'filename="wedsync-success-2026-05.html"' in answer.headers["content-disposition"]
    html = answer.text
    assert "<script" not in html
    assert not re.search(r'(src|href)="(/|https?:)', html)  # nothing to fetch
    assert "<style>" in html
    assert ".chart .line" in html  # the chart styles travel inside the file
    summary = re.search(r'<p class="report-summary" id="summary">([^<]*)</p>', html)
    assert summary
    assert "1 of 3 suppliers left: a monthly logo churn of 33.3%" in summary.group(1)
    assert '<details class="chart-data" open>' in html  # numbers printed beside the charts


async def test_the_attribution_section_charts_credit_by_touch(
    signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    from tests.reports.attribution_data import store_history

    await store_history(ctx)
    html = (await signed_in.get("/business?month=2026-05&months=2")).text
    section = html[html.index('id="attribution"') : html.index('id="model-accuracy"')]
    assert 'id="chart-attribution"' in section
    assert section.count('class="bar ') == 6  # one bar segment per (touch, kind) credited
    assert "Renewals, Milestone: 0.7" in section  # tips: kind, touch, linear credit
    # renewals: 2, one with a touch before it, 4,900 + 2,900 pence
    assert re.search(r"Renewal</th><td>2</td><td>1</td><td>£78</td>", section)
    assert "Control-group runs received nothing" in section
