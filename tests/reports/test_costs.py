"""The programme-costs file: defaults, validation naming the field, currency conversion."""

from __future__ import annotations

from pathlib import Path

import pytest

from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.kit.currency import DEFAULT_RATES, Rates
from wedsync_success.kit.errors import ConfigError
from wedsync_success.reports.costs import load_programme_costs


def test_the_shipped_file_states_its_defaults() -> None:
    costs = load_programme_costs(DEFAULTS_DIR / "programme_costs.yaml", rates=DEFAULT_RATES)
    assert costs.currency == "GBP"
    assert costs.message_cost_minor.of("sms") == 4
    assert costs.task_cost_minor == 0.5 * 3500
    assert costs.revenue_months == 12


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("message_cost_minor: {sms: -1}", "message_cost_minor.sms"),
        ("message_cost_minor: {fax: 1}", "message_cost_minor.fax"),
        ("message_cost_minor: {email: .nan}", "message_cost_minor.email"),
        ("task_hours: .inf", "task_hours"),
        ("hourly_rate_minor: 1.5", "hourly_rate_minor"),
        ("revenue_months: 0", "revenue_months"),
        ("currency: pounds", "currency"),
        ("surprise: 1", "surprise"),
    ],
)
def test_mistakes_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text(f"version: 1\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_programme_costs(path, rates=DEFAULT_RATES)
    assert [d["field"] for d in refused.value.details] == [field]


def test_a_currency_without_a_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text("version: 1\ncurrency: JPY\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_programme_costs(path, rates=DEFAULT_RATES)
    assert refused.value.details[0]["field"] == "currency"
    costs = load_programme_costs(path, rates=Rates("GBP", {"JPY": 0.005}))
    assert costs.currency == "JPY"
