"""The reporting currency and its rates: one conversion rule, checked at start; a currency
without a rate is not converted (never counted as 0)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError
from sqlalchemy import column, select
from sqlalchemy.dialects import sqlite

from wedsync_success.config import Settings
from wedsync_success.kit.currency import DEFAULT_RATES, Rates, check_rates


def test_conversion_to_the_reporting_currency() -> None:
    rates = Rates("GBP", {"EUR": 0.86, "JPY": 0.0052, "KWD": 2.6})
    assert rates.convert(10000, "GBP") == 10000
    assert rates.convert(10000, "EUR") == 8600  # €100.00 -> £86.00
    assert rates.convert(100000, "JPY") == 52000  # ¥100,000 (no minor unit) -> £520.00
    assert rates.convert(1000, "KWD") == 260  # 1.000 KWD (three digits) -> £2.60
    assert rates.convert(5000, "CHF") is None  # no rate: not converted
    assert rates.factor("CHF") is None


def test_a_total_keeps_what_it_cannot_convert_apart() -> None:
    total = Rates("GBP", {"EUR": 0.86}).total({"GBP": 4900, "EUR": 10000, "CHF": 2500})
    assert total.minor == 4900 + 8600
    assert total.not_converted == {"CHF": 2500}
    assert total.rates_used == {"EUR": 0.86}
    assert total.currency == "GBP"
    nothing = Rates("GBP", {}).total({"USD": 100})
    assert (nothing.minor, nothing.not_converted) == (0, {"USD": 100})


def test_the_sql_factor_is_the_same_rule() -> None:
    rates = Rates("GBP", {"EUR": 0.86, "JPY": 0.0052})
    sql = str(
        select(rates.sql_factor(column("currency"))).compile(
            dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    assert "'EUR'" in sql
    assert "0.86" in sql
    assert repr(rates.factor("JPY")) in sql  # minor units of yen to pence: 0.52
    assert "ELSE NULL" in sql


@pytest.mark.parametrize(
    ("reporting", "rates", "problem"),
    [
        ("gbp", {}, "three-letter code"),
        ("GBP", {"euro": 0.86}, "three-letter currency code"),
        ("GBP", {"EUR": 0}, "positive number"),
        ("GBP", {"EUR": -1.0}, "positive number"),
        ("GBP", {"EUR": math.inf}, "positive number"),
        ("GBP", {"EUR": math.nan}, "positive number"),
        ("GBP", {"GBP": 1.2}, "its rate is 1"),
    ],
)
def test_unusable_rates_are_refused_naming_the_problem(
    reporting: str, rates: dict[str, float], problem: str
) -> None:
    [found] = check_rates(reporting, rates)
    assert problem in found
    with pytest.raises(ValueError, match=problem):
        Rates(reporting, rates)


def test_settings_validate_the_rates_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().rates == DEFAULT_RATES
    assert (
        Settings().rates.describe() == "1 AUD = 0.5128 GBP, 1 EUR = 0.8696 GBP, 1 USD = 0.7692 GBP"
    )
    monkeypatch.setenv("WEDSYNC_REPORTING_CURRENCY", "EUR")
    with pytest.raises(ValidationError, match="WEDSYNC_FX_RATES must be set"):
        Settings()
    monkeypatch.setenv("WEDSYNC_FX_RATES", '{"GBP": 1.16, "USD": 0.92}')
    rates = Settings().rates
    assert rates.reporting == "EUR"
    assert rates.convert(10000, "GBP") == 11600
    assert rates.convert(10000, "AUD") is None  # not in the configured rates
    monkeypatch.setenv("WEDSYNC_FX_RATES", '{"GBP": -1}')
    with pytest.raises(ValidationError, match="the rate of GBP must be a positive number"):
        Settings()
