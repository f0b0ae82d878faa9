"""The churn model's accuracy on a hand-made prediction log with known outcomes, on SQLite
and PostgreSQL: the month's first prediction per supplier and model, the realised outcome
from the subscription, every metric worked out by hand, pending horizons, the API and CLI."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.reports.history import store, supplier_row
from tests.reports.roi_data import supplier
from wedsync_success.churn.evaluation import metrics
from wedsync_success.churn.models import ChurnPrediction
from wedsync_success.config import get_settings
from wedsync_success.context import AppContext
from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.reports.accuracy import model_accuracy
from wedsync_success.reports.accuracy_repository import monthly_outcomes, outcomes_query
from wedsync_success.reports.accuracy_schemas import ModelAccuracyReport

START, END = date(2026, 3, 1), date(2026, 6, 1)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def prediction(
    supplier_id: uuid.UUID, as_of: str, probability: float, *, version: str = "v1", days: int = 30
) -> ChurnPrediction:
    cutoff = _at(as_of) + timedelta(days=1)
    return ChurnPrediction(
        supplier_id=supplier_id,
        model_version=version,
        as_of=date.fromisoformat(as_of),
        horizon_days=days,
        horizon_end=cutoff + timedelta(days=days),
        probability=probability,
        risk_band="high" if probability >= 0.5 else "low",
        predicted_at=cutoff,
    )


@pytest.fixture
async def log(ctx: AppContext) -> None:
    a = await supplier(ctx, ended_at=_at("2026-03-20"))  # churned inside the horizon
    b = await supplier(ctx, ended_at=None)
    c = await supplier(ctx, ended_at=_at("2026-05-20"))  # churned, but after the horizon
    # Predicted as of 03-05 (cutoff 03-06): the horizon ends 2026-04-05 00:00, the instant
    # it leaves: churned (the horizon's end is included).
    d = await supplier(ctx, ended_at=_at("2026-04-05"))
    e = await supplier(ctx, ended_at=None)
    f = await supplier(ctx, ended_at=None)
    rows = [
        prediction(a, "2026-03-05", 0.9),
        prediction(a, "2026-03-10", 0.95),  # not the month's first: left out
        prediction(b, "2026-03-05", 0.2),
        prediction(c, "2026-03-05", 0.6),
        prediction(d, "2026-03-05", 0.1),
        prediction(e, "2026-04-02", 0.05),
        prediction(f, "2026-04-02", 0.3),
        prediction(e, "2026-04-03", 0.5, version="v2"),
        prediction(b, "2026-05-31", 0.4),  # horizon ends 2026-07-01: still pending
        prediction(b, "2026-02-27", 0.4),  # before the window
    ]
    async with ctx.db.transaction() as session:
        session.add_all(rows)


async def _report(ctx: AppContext, start: date = START, end: date = END) -> ModelAccuracyReport:
    async with ctx.db.sessions() as session:
        return await model_accuracy(session=session, start=start, end=end, as_of=ctx.clock())


async def test_monthly_accuracy_on_known_outcomes(ctx: AppContext, log: None) -> None:
    report = await _report(ctx)
    keys = [(r.month, r.model_version) for r in report.months]
    assert keys == [(date(2026, 3, 1), "v1"), (date(2026, 4, 1), "v1"), (date(2026, 4, 1), "v2")]
    march = report.months[0]
    # y = [1, 0, 0, 1] for p = [0.9, 0.2, 0.6, 0.1]
    assert (march.predictions, march.churned, march.base_rate) == (4, 2, 0.5)
    assert march.roc_auc == pytest.approx(0.5)  # 2 of the 4 churner-stayer pairs ranked right
    assert march.pr_auc == pytest.approx(0.75)  # (1 + 2/4) / 2
    assert march.brier == pytest.approx((0.1**2 + 0.2**2 + 0.6**2 + 0.9**2) / 4)
    assert march.ece == pytest.approx((0.1 + 0.2 + 0.6 + 0.9) / 4)
    assert march.accuracy == pytest.approx(0.5)  # flags a (right) and c (wrong); misses d
    assert march.precision == pytest.approx(0.5)
    assert march.recall == pytest.approx(0.5)
    assert march.accuracy_if_nobody_churns == pytest.approx(0.5)
    assert march.meets_claim is False
    bins = {(round(b.low, 1), b.count, b.predicted, b.observed) for b in march.calibration}
    assert len(march.calibration) == 10
    assert (0.9, 1, 0.9, 1.0) in bins
    assert (0.6, 1, 0.6, 0.0) in bins
    assert (0.3, 0, None, None) in bins
    april = report.months[1]
    # Nobody churned: no ranking to judge, and 100 % accuracy that says nothing.
    assert (april.predictions, april.churned, april.roc_auc, april.pr_auc) == (2, 0, None, None)
    assert april.accuracy == 1.0
    assert april.meets_claim is True
    overall = {a.model_version: a for a in report.overall}
    assert overall["v1"].month is None
    assert overall["v1"].predictions == 6
    assert overall["v1"].roc_auc == pytest.approx(5 / 8)
    assert overall["v2"].predictions == 1
    assert report.pending == 1
    assert report.claim.accuracy == 0.85
    assert "Accuracy alone misleads" in report.claim.verdict
    assert "Model v1" in report.claim.verdict


async def test_an_empty_window(ctx: AppContext, log: None) -> None:
    report = await _report(ctx, date(2025, 1, 1), date(2025, 6, 1))
    assert report.months == []
    assert report.overall == []
    assert report.pending == 0
    assert report.claim.verdict.startswith("No prediction's horizon has ended")


async def test_a_reversed_window_names_to(ctx: AppContext) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await _report(ctx, END, START)
    assert refused.value.details[0]["field"] == "to"


async def test_api(ctx: AppContext, log: None, client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/reports/model-accuracy", params={"from": "2026-03-01", "to": "2026-06-01"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == "2026-03-01"
    assert [m["month"] for m in body["months"]] == ["2026-03-01", "2026-04-01", "2026-04-01"]
    assert len(body["months"][0]["calibration"]) == 10
    refused = await client.get(
        "/api/v1/reports/model-accuracy", params={"from": "2026-06-01", "to": "2026-03-01"}
    )
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["to"]


def test_cli(
    ctx: AppContext, log: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from wedsync_success.cli import app

    monkeypatch.setenv("WEDSYNC_DATABASE_URL", ctx.settings.database_url)
    get_settings.cache_clear()
    request.addfinalizer(get_settings.cache_clear)
    runner = CliRunner()
    window = ["--from", "2026-03-01", "--to", "2026-06-01"]
    table = runner.invoke(app, ["report", "model-accuracy", *window])
    assert table.exit_code == 0, table.output
    assert "2026-03" in table.output
    assert "85%" in table.output
    as_csv = runner.invoke(app, ["report", "model-accuracy", *window, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    lines = as_csv.output.splitlines()
    assert lines[0].startswith("month,model_version,predictions,churned")
    assert lines[1].startswith("2026-03-01,v1,4,2,0.5,0.5,0.75")
    assert lines[-1].startswith("ALL,v2,1,")
    as_json = runner.invoke(app, ["report", "model-accuracy", *window, "--format", "json"])
    assert json.loads(as_json.output)["overall"][0]["model_version"] == "v1"


async def test_every_probability_comes_back_exactly(ctx: AppContext) -> None:
    """The log is grouped in SQL, each group's probabilities packed into one value: every
    double must come back bit for bit (a text cast with 15 digits would not), so the AUCs
    are those of the scores themselves."""
    rng = np.random.default_rng(5)
    awkward = [0.0, 1.0, 5e-324, 0.1, 0.5, 1 - 2**-53, 2**-30, 1 / 3, 0.49999999999999994]
    probabilities = awkward + rng.random(60).tolist() + (rng.random(30) ** 9).tolist()
    rows = [
        supplier_row("2025-01-01", ended="2026-03-20" if i % 3 == 0 else None)
        for i in range(len(probabilities))
    ]
    await store(ctx, rows)
    async with ctx.db.transaction() as session:
        session.add_all(
            prediction(r["id"], "2026-03-05", p) for r, p in zip(rows, probabilities, strict=True)
        )
    async with ctx.db.sessions() as session:
        data = await monthly_outcomes(session, start=START, end=END, known_by=ctx.clock())
    assert sorted(data.probability.tolist()) == sorted(probabilities)
    assert data.churned.sum() == len(probabilities[::3])
    y = np.array([i % 3 == 0 for i in range(len(probabilities))])
    expected = metrics(y, np.array(probabilities), threshold=0.5)
    (march,) = (await _report(ctx)).months
    assert (march.roc_auc, march.pr_auc, march.brier) == (
        expected["roc_auc"],
        expected["pr_auc"],
        expected["brier"],
    )


async def test_a_window_of_the_log_is_read_through_the_as_of_index(ctx: AppContext) -> None:
    """The log is never pruned: a report over one month must read that month's rows, not
    scan the whole log: through migration 0019's index, or (where the planner's statistics
    favour walking the suppliers) the primary key bounded by as_of. PostgreSQL is told to
    avoid a sequential scan, which it would pick on a table this small anyway."""
    query = outcomes_query(start=START, end=date(2026, 4, 1), known_by=ctx.clock())
    async with ctx.db.sessions() as session:
        dialect = session.get_bind().dialect
        compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        if dialect.name == "postgresql":
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            prefix = "EXPLAIN "
        else:
            prefix = "EXPLAIN QUERY PLAN "
        plan = " ".join(str(r[-1]) for r in await session.execute(text(prefix + str(compiled))))
    assert "SCAN churn_predictions" not in plan, plan  # SQLite's full scan
    assert "Seq Scan on churn_predictions" not in plan, plan
    assert re.search(r"ix_churn_predictions_as_of|as_of>\?|\(as_of >=", plan), plan
