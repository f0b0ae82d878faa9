"""Money in one reporting currency: the configured rates and the one conversion rule.

Amounts are integer minor units with a currency. A rate says how many units of the reporting
currency one unit of another currency buys (``{"EUR": 0.8696}`` with GBP reporting: one euro
is 86.96 pence). A currency without a rate is *not converted* (``None`` in Python, ``NULL``
in SQL) and said so wherever a total is shown; it is never counted as 0.

Every conversion goes through :class:`Rates`: the overview's total (:meth:`Rates.total`),
and the priority order's expected MRR lost (:meth:`Rates.sql_factor`, in the churn domain's
SQL), so both use the same rates and the same minor-unit rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, case, cast, literal_column, null
from sqlalchemy.sql.elements import ColumnElement

MINOR_DIGITS: dict[str, int] = {
    "BHD": 3,
    "CLP": 0,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
    "VND": 0,
}
"""Digits of the minor unit (ISO 4217) where they are not 2."""

DEFAULT_REPORTING_CURRENCY = "GBP"
DEFAULT_GBP_RATES: dict[str, float] = {"EUR": 0.8696, "USD": 0.7692, "AUD": 0.5128}
"""Pounds per unit of the synthetic population's other currencies (its price levels: 1.15
euros, 1.30 dollars, 1.95 Australian dollars to the pound). Production sets its own."""


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency, 2)


@dataclass(frozen=True)
class Total:
    """A sum of per-currency amounts in the reporting currency, and what could not be."""

    currency: str
    minor: int
    """The converted part (every currency that has a rate)."""
    not_converted: dict[str, int] = field(default_factory=dict)
    """Amounts (minor units) of currencies without a rate, left out of ``minor``."""
    rates_used: dict[str, float] = field(default_factory=dict)
    """The rate applied to each other currency that was converted."""


@dataclass(frozen=True)
class Rates:
    """The reporting currency and the rate of every other currency to it."""

    reporting: str
    to_reporting: Mapping[str, float]
    """Units of the reporting currency per unit of each other currency."""

    def __post_init__(self) -> None:
        problems = check_rates(self.reporting, self.to_reporting)
        if problems:
            raise ValueError("; ".join(problems))

    def rate(self, currency: str) -> float | None:
        """Reporting units per unit of ``currency`` (1 for the reporting currency itself)."""
        if currency == self.reporting:
            return 1.0
        return self.to_reporting.get(currency)

    def factor(self, currency: str) -> float | None:
        """Reporting-currency minor units per minor unit of ``currency``; None: no rate."""
        rate = self.rate(currency)
        if rate is None:
            return None
        return rate * 10.0 ** (minor_digits(self.reporting) - minor_digits(currency))

    def convert(self, minor: int, currency: str) -> int | None:
        """``minor`` units of ``currency`` in reporting minor units (rounded); None: no rate."""
        factor = self.factor(currency)
        return None if factor is None else round(minor * factor)

    def total(self, amounts: Mapping[str, int]) -> Total:
        """The sum of ``amounts`` (currency -> minor units) in the reporting currency."""
        converted, missing, used = 0, {}, {}
        for currency, minor in sorted(amounts.items()):
            value = self.convert(minor, currency)
            if value is None:
                missing[currency] = minor
                continue
            converted += value
            if currency != self.reporting:
                used[currency] = self.to_reporting[currency]
        return Total(self.reporting, converted, missing, used)

    def sql_factor(self, currency: ColumnElement[Any]) -> ColumnElement[float]:
        """:meth:`factor` as a SQL expression over a currency column (NULL without a rate).

        Codes and factors are written into the SQL text: both are checked (three capital
        letters, a finite positive number), and the statement then has no parameters of its
        own, so bulk writers can bind theirs by position.
        """
        known = sorted({self.reporting, *self.to_reporting})
        whens = [
            (currency == literal_column(f"'{code}'"), cast(literal_column(repr(factor)), Float))
            for code in known
            if (factor := self.factor(code)) is not None
        ]
        return case(*whens, else_=null())

    def in_currency(self, code: str) -> Rates | None:
        """The same rates with ``code`` as the reporting currency (each rate divided by
        ``code``'s); None when ``code`` has no rate."""
        base = self.rate(code)
        if base is None:
            return None
        known = {self.reporting: 1.0, **self.to_reporting}
        return Rates(code, {c: rate / base for c, rate in known.items() if c != code})

    def describe(self) -> str:
        """The rates as a sentence fragment: ``1 EUR = 0.8696 GBP, 1 USD = 0.7692 GBP``."""
        return ", ".join(
            f"1 {code} = {rate:g} {self.reporting}"
            for code, rate in sorted(self.to_reporting.items())
        )


def check_rates(reporting: str, rates: Mapping[str, float]) -> list[str]:
    """What is wrong with a reporting currency and its rates (empty when they are usable)."""
    problems = []
    if not _is_code(reporting):
        problems.append(f"reporting currency {reporting!r} is not a three-letter code like GBP")
    for code, rate in rates.items():
        if not _is_code(code):
            problems.append(f"{code!r} is not a three-letter currency code like EUR")
        elif not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
            problems.append(f"the rate of {code} must be a positive number, not {rate!r}")
        elif code == reporting and rate != 1:
            problems.append(f"{code} is the reporting currency: its rate is 1, not {rate!r}")
    return problems


def _is_code(code: object) -> bool:
    return (
        isinstance(code, str)
        and len(code) == 3
        and code.isascii()
        and code.isalpha()
        and code.isupper()
    )


DEFAULT_RATES = Rates(DEFAULT_REPORTING_CURRENCY, DEFAULT_GBP_RATES)
"""The rates when none are configured (see ``Settings.fx_rates``)."""
