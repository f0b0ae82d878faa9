"""Bring your own data: a generated CSV with numeric and categorical columns, missing values,
yes/no labels and class imbalance; plus every kind of bad file."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from wedsync_success.churn.byo import load_table, train_csv
from wedsync_success.churn.registry import Registry
from wedsync_success.cli import app
from wedsync_success.config import get_settings
from wedsync_success.kit.errors import ValidationFailed

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def write_dataset(path: Path, rows: int = 1500, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 60, rows)
    logins = rng.poisson(20, rows).astype(float)
    plan = rng.choice(["basic", "pro", "business"], rows, p=[0.5, 0.35, 0.15])
    region = rng.choice(["north", "south", "east", "west", ""], rows)
    tickets = rng.poisson(1, rows)
    logit = -1.2 - 0.12 * logins + 0.7 * tickets - 0.03 * tenure + (plan == "basic") * 0.8
    churn = rng.random(rows) < 1 / (1 + np.exp(-logit))
    missing = rng.random(rows) < 0.1
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "customer",
                "signup",
                "tenure_months",
                "logins",
                "plan",
                "region",
                "tickets",
                "notes",
                "Churn",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"c{i % 1200}",
                    (date(2024, 1, 1) + timedelta(days=int(i * 0.4))).isoformat(),
                    tenure[i],
                    "" if missing[i] else logins[i],
                    plan[i],
                    region[i],
                    "NA" if i % 17 == 0 else tickets[i],
                    f"free text note number {i}",
                    "Yes" if churn[i] else "No",
                ]
            )


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "telco.csv"
    write_dataset(path)
    return path


def test_table_types_columns_and_labels(dataset: Path) -> None:
    table = load_table(dataset, label="Churn", id_column="customer", time_column="signup")
    assert table.positive == "yes"
    assert set(table.categorical) == {"plan", "region"}
    assert "notes" in table.dropped_columns  # free text, one value per row
    assert np.isnan(table.matrix[:, table.names.index("logins")]).any()
    assert 0.05 < table.labels.mean() < 0.5
    assert table.times is not None


def test_cross_validated_model_card(dataset: Path, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    version = train_csv(dataset, label="Churn", id_column="customer", registry=registry, now=NOW)
    meta = version.metadata
    assert meta["kind"] == "byo"
    assert "grouped by id" in meta["data"]["split"]
    model = meta["metrics"]["model"]
    assert model["rows"] == 1500
    assert model["roc_auc"] > 0.75
    assert model["ece"] < 0.08
    assert meta["metrics"]["logistic"]["roc_auc"] > 0.7
    assert (version.path / "model.txt").is_file()
    assert "<svg" in (version.path / "report.html").read_text()
    assert registry.active() is None  # CSV models are never made active


def test_time_split(dataset: Path, tmp_path: Path) -> None:
    version = train_csv(
        dataset, label="Churn", time_column="signup", registry=Registry(tmp_path), now=NOW
    )
    assert version.metadata["data"]["split"].startswith("time")
    assert version.metadata["data"]["rows"]["evaluated"]["rows"] == pytest.approx(300, abs=5)


@pytest.mark.parametrize(
    ("content", "label", "field", "message"),
    [
        ("", "Churn", "csv", "empty"),
        ("a,b,Churn\n", "Churn", "csv", "no data rows"),
        ("a,b,Churn\n1,2,yes\n3,4,no\n", "churned", "--label", "No column 'churned'"),
        ("a,Churn\n1,yes\n2,no\n3,maybe\n", "Churn", "--label", "3 distinct values"),
        ("a,Churn\n1,red\n2,blue\n", "Churn", "--label", "Cannot tell"),
        ("a,b,Churn\n1,2,yes\n3,no\n", "Churn", "csv", "do not have 3 columns"),
    ],
)
def test_bad_files_get_clear_errors(
    tmp_path: Path, content: str, label: str, field: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValidationFailed, match=message) as caught:
        load_table(path, label=label)
    assert caught.value.details[0]["field"] == field


def test_cli_trains_on_a_csv_and_reports_bad_input(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEDSYNC_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("WEDSYNC_CHURN_REGISTRY", str(tmp_path / "models"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["churn", "train", "--csv", str(dataset), "--label", "Churn"])
        assert result.exit_code == 0, result.output
        assert "ROC-AUC" in result.output
        assert "Logistic" in result.output
        assert "Registered v0001" in result.output
        bad = runner.invoke(app, ["churn", "train", "--csv", str(dataset), "--label", "nope"])
        assert bad.exit_code == 1
        assert "No column 'nope'" in bad.output
        listed = runner.invoke(app, ["churn", "models"])
        assert "v0001" in listed.output
        assert "byo" in listed.output
        refused = runner.invoke(app, ["churn", "promote", "v0001"])
        assert refused.exit_code == 1
        report = runner.invoke(app, ["churn", "report", "v0001"])
        assert report.exit_code == 0, report.output
    finally:
        get_settings.cache_clear()
