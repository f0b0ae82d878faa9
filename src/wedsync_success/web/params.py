"""Query-parameter types the API's routes share, bounded to what the code and storage handle.

Dates are read strictly as ``YYYY-MM-DD`` (pydantic alone would read ``0.0`` as a Unix
timestamp, 1970-01-01) and only within a window any real report or score can ask about, so
date arithmetic on them can never overflow.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from wedsync_success.kit import limits
from wedsync_success.kit.limits import BIGINT_MAX

EARLIEST_DAY = limits.EARLIEST.date()
LATEST_DAY = limits.LATEST.date() - timedelta(days=1)
"""The days of the window stored instants are held to (``kit.limits``: 2000-01-01 up to,
not including, 2100-01-01 UTC)."""
DAY_PATTERN = r"^20[0-9][0-9]-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_DAY = re.compile(DAY_PATTERN)


def _strict_day(value: object) -> object:
    if isinstance(value, str) and not _DAY.match(value):
        raise ValueError(f"must be a day as YYYY-MM-DD, from {EARLIEST_DAY} to {LATEST_DAY}")
    return value


Day = Annotated[
    date,
    BeforeValidator(_strict_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
"""A calendar day, ``YYYY-MM-DD``, between :data:`EARLIEST_DAY` and :data:`LATEST_DAY`."""

Sequence = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
"""A positive row sequence number, as stored (BIGINT)."""
