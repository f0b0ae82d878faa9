"""Honest training: label windows end where churn is known, cutoffs are spaced as asked, and
a model that cannot be measured or does not beat the logistic baseline is registered but never
made active automatically."""

from __future__ import annotations

import csv
import itertools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.churn.conftest import END, Seeded
from wedsync_success.churn import promotion
from wedsync_success.churn.byo import load_table, train_csv
from wedsync_success.churn.registry import Registry
from wedsync_success.churn.service import TrainOptions, train_suppliers
from wedsync_success.cli import app
from wedsync_success.config import get_settings
from wedsync_success.kit.errors import ValidationFailed


def _words(output: str) -> str:
    return " ".join(output.split())


def _card(
    *, churned: int, rows: int = 1000, model: float | None, logistic: float | None
) -> dict[str, Any]:
    return {
        "kind": "suppliers",
        "data": {"rows": {"test": {"rows": rows, "churned": churned}}},
        "metrics": {"model": {"roc_auc": model}, "logistic": {"roc_auc": logistic}},
    }


def test_the_gate_names_each_reason() -> None:
    assert promotion.blockers(_card(churned=40, model=0.81, logistic=0.74)) == []
    few = promotion.blockers(_card(churned=29, model=0.81, logistic=0.74))
    assert len(few) == 1
    assert "29 churned" in few[0]
    assert "at least 30" in few[0]
    assert promotion.blockers(_card(churned=30, model=0.81, logistic=0.74)) == []
    assert promotion.blockers(_card(churned=975, model=0.81, logistic=0.74))  # 25 retained
    worse = promotion.blockers(_card(churned=40, model=0.70, logistic=0.74))
    assert worse == [
        "it does not beat the logistic baseline fitted on the same rows "
        "(ROC-AUC 0.700 against 0.740)"
    ]
    assert promotion.blockers(_card(churned=40, model=0.74, logistic=0.74))  # a tie is no win
    unmeasured = promotion.blockers(_card(churned=0, model=None, logistic=None))
    assert len(unmeasured) == 2
    assert "could not be measured" in unmeasured[1]


async def test_until_bounds_every_label_window_and_is_on_the_card(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    until = date(2026, 3, 15)
    registry = Registry(tmp_path / "models")
    version = await train_suppliers(
        ctx=seeded_sqlite.ctx,
        registry=registry,
        options=TrainOptions(until=until, promote=False),
        now=END,
    )
    data = version.metadata["data"]
    horizon = timedelta(days=version.metadata["horizon_days"])
    last_test = date.fromisoformat(max(data["test_cutoffs"]))
    assert last_test + horizon <= until
    assert last_test + horizon + timedelta(days=31) > until  # the latest month end that fits
    assert data["churn_known_until"] == until.isoformat()
    assert data["churn_known_until_from"] == "given"
    assert registry.active() is None


async def test_by_default_churn_is_known_until_the_latest_subscription_record(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    pop = seeded_sqlite.population
    facts = [
        moment
        for s in pop.suppliers
        for moment in (s.signed_up_at, s.subscription_started_at, s.subscription_ended_at)
        if moment is not None
    ]
    expected = min(max(facts).date(), END.date())
    version = await train_suppliers(
        ctx=seeded_sqlite.ctx,
        registry=Registry(tmp_path / "models"),
        options=TrainOptions(every_days=14, test_cutoffs=4, promote=False),
        now=END,
    )
    data = version.metadata["data"]
    assert data["churn_known_until"] == expected.isoformat()
    assert data["churn_known_until_from"] == "the latest subscription record"
    assert data["cutoff_spacing"] == "every 14 days"
    cutoffs = sorted(date.fromisoformat(c) for c in data["train_cutoffs"] + data["test_cutoffs"])
    assert {(b - a).days % 14 for a, b in itertools.pairwise(cutoffs)} == {0}
    assert len(data["test_cutoffs"]) == 4


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (TrainOptions(until=END.date() + timedelta(days=1)), "until"),
        (TrainOptions(until=date(2026, 5, 1), as_of=date(2026, 4, 1)), "until"),
        (TrainOptions(min_history_days=3000), "history"),
    ],
)
async def test_impossible_windows_are_refused_naming_the_option(
    seeded_sqlite: Seeded, tmp_path: Path, options: TrainOptions, field: str
) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(ValidationFailed) as caught:
        await train_suppliers(ctx=seeded_sqlite.ctx, registry=registry, options=options, now=END)
    assert caught.value.details[0]["field"] == field
    assert registry.versions() == []


async def test_an_unmeasurable_model_is_registered_but_never_made_active(
    seeded_sqlite: Seeded, tmp_path: Path
) -> None:
    """One weekly test cutoff with a 7-day horizon holds a handful of churners."""
    registry = Registry(tmp_path / "models")
    version = await train_suppliers(
        ctx=seeded_sqlite.ctx,
        registry=registry,
        options=TrainOptions(horizon_days=7, every_days=7, test_cutoffs=1),
        now=END,
    )
    meta = version.metadata
    assert meta["data"]["rows"]["test"]["churned"] < promotion.MIN_TEST_CHURNERS
    assert registry.active() is None
    assert registry.versions() == [version.version]
    reasons = meta["promotion"]["blocked_by"]
    assert any("test window holds" in r for r in reasons)
    report = (registry.root / version.version / "report.html").read_text()
    assert "Not made active automatically" in report
    # A person may still decide: --promote makes it active, and says what it overrode.
    forced = await train_suppliers(
        ctx=seeded_sqlite.ctx,
        registry=registry,
        options=TrainOptions(horizon_days=7, every_days=7, test_cutoffs=1, promote=True),
        now=END,
    )
    assert registry.active() == forced.version


def test_cli_says_why_a_model_was_not_made_active(
    seeded_sqlite: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEDSYNC_DATABASE_URL", seeded_sqlite.url)
    monkeypatch.setenv("WEDSYNC_CHURN_REGISTRY", str(tmp_path / "models"))
    get_settings.cache_clear()
    runner = CliRunner()
    args = ["churn", "train", "--horizon", "7", "--every", "7", "--test-cutoffs", "1"]
    try:
        held = runner.invoke(app, args)
        assert held.exit_code == 0, held.output
        text = _words(held.output)
        assert "Not made active automatically" in text
        assert "test window holds" in text
        assert "every 7 days" in text
        assert "wedsync-success churn promote v0001" in text
        promoted = runner.invoke(app, ["churn", "promote", "v0001"])
        assert promoted.exit_code == 0, promoted.output
        assert "not made active automatically because" in _words(promoted.output)
        bad = runner.invoke(app, [*args, "--until", "2026-13-01"])
        assert bad.exit_code == 2
        assert "--until" in _words(bad.output)
    finally:
        get_settings.cache_clear()


# --- bring your own CSV ---------------------------------------------------------------------


def _write(path: Path, rows: int, *, seed: int = 1, descending_id: bool = False) -> None:
    rng = np.random.default_rng(seed)
    usage = rng.poisson(10, rows)
    churn = rng.random(rows) < 1 / (1 + np.exp(0.4 * usage - 3))
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "account_number", "usage", "seats", "churned"])
        for i in range(rows):
            number = rows - i if descending_id else 1000 + 3 * i
            writer.writerow([i, number, usage[i], rng.integers(1, 9), int(churn[i])])


def test_numeric_row_ids_are_dropped_like_text_ids(tmp_path: Path) -> None:
    for descending in (False, True):
        path = tmp_path / "ids.csv"
        _write(path, 300, descending_id=descending)
        table = load_table(path, label="churned")
        assert table.names == ["usage", "seats"]
        assert set(table.dropped_columns) == {"row", "account_number"}
        assert "row id" in table.dropped_columns["row"]


def test_a_sorted_feature_with_repeats_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "sorted.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tenure", "churned"])
        for i in range(300):
            writer.writerow([i // 3, i % 2])  # rising but repeated: a feature, not an id
    assert load_table(path, label="churned").names == ["tenure"]


def test_a_small_file_trains_with_a_clear_warning(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    _write(path, 60)
    registry = Registry(tmp_path / "models")
    version = train_csv(path, label="churned", registry=registry, now=END)
    reasons: list[Any] = version.metadata["promotion"]["blocked_by"]
    assert any("only 60 labelled rows" in r for r in reasons)
    assert registry.active() is None
    big = tmp_path / "big.csv"
    _write(big, 1200)
    roomy = train_csv(big, label="churned", registry=registry, now=END)
    assert not any("labelled rows" in r for r in roomy.metadata["promotion"]["blocked_by"])
