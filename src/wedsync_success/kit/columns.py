"""Deciding a whole column of a batch at once: the shared parts of the fast paths that accept
plain items column by column (events in ``activity/columns.py``, new suppliers in
``suppliers/columns.py``) and leave every other item to the schema.

A column of text is matched by one regular expression over the column joined by newlines
(the patterns never match a newline, and a value holding one is caught by counting them);
only when that fails is each value matched on its own, to tell which ones are plain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import methodcaller
from typing import Any

from wedsync_success.kit.limits import EARLIEST, LATEST

INSTANT = (
    "(?:19|20|21)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{1,6})?"
    "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
"""ISO 8601 as exports write it, with a UTC offset in hours and minutes; the day of the
month is checked by ``datetime.fromisoformat`` (which reads every text this matches)."""


@dataclass(frozen=True)
class TextColumn:
    """How one text column is recognised: ``joined`` matches the whole column at once."""

    one: re.Pattern[str]
    joined: re.Pattern[str]

    @classmethod
    def of(cls, pattern: str) -> TextColumn:
        return cls(re.compile(pattern), re.compile(f"(?:{pattern}\n)*{pattern}"))

    def plain(self, values: Sequence[Any]) -> list[bool] | None:
        """None when every value matches (one regex over the joined column); otherwise
        which values match."""
        try:
            joined = "\n".join(values)
            # A value holding a newline would read as two: count them.
            if joined.count("\n") == len(values) - 1 and self.joined.fullmatch(joined):
                return None
        except TypeError:  # a value that is not text
            pass
        one = self.one.fullmatch
        return [isinstance(v, str) and one(v) is not None for v in values]

    def each(self, values: Sequence[Any]) -> list[bool]:
        """Which values match, as a list even when all do."""
        found = self.plain(values)
        return [True] * len(values) if found is None else found


def column_getter(items: Sequence[dict[str, Any]]) -> Callable[..., list[Any]]:
    """``column(name, default=None)``: that key's value in each of ``items`` (C-level calls)."""

    def column(name: str, default: Any = None) -> list[Any]:
        return list(map(methodcaller("get", name, default), items))

    return column


def refuse(ok: list[bool], plain: list[bool] | None) -> None:
    """Clear ``ok`` where ``plain`` is False (None: every item is plain)."""
    if plain is not None:
        ok[:] = [a and b for a, b in zip(ok, plain, strict=True)]


AS_UTC = methodcaller("astimezone", UTC)
"""An aware datetime's instant in UTC, as a C-level callable for ``map``."""


def read_instants(texts: list[str]) -> tuple[list[datetime], list[bool]]:
    """The instants of ``texts`` (all matching :data:`INSTANT`), and which can be stored:
    those that could be read (a 31st of a shorter month cannot; its place holds
    ``EARLIEST``) and fall in the stored range, ``EARLIEST`` to ``LATEST``."""
    try:
        moments = list(map(datetime.fromisoformat, texts))
        readable = [True] * len(texts)
    except ValueError:
        moments, readable = [], []
        for text in texts:
            try:
                moments.append(datetime.fromisoformat(text))
                readable.append(True)
            except ValueError:
                moments.append(EARLIEST)
                readable.append(False)
    utc = list(map(AS_UTC, moments))
    if utc and not (min(utc) >= EARLIEST and max(utc) < LATEST):
        inside = [EARLIEST <= at < LATEST for at in utc]
        readable = [r and i for r, i in zip(readable, inside, strict=True)]
    return moments, readable
