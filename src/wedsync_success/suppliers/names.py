"""Supplier names as search words: case and accents folded, split into words.

One folding serves the stored words and the query, so "Café" is found by "cafe" and "CAF".
Apostrophes join (``O'Brien's`` is the word ``obriens``, and its parts ``o``, ``brien``,
``s``), every other non-letter, non-digit character separates words.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

MAX_QUERY_CHARS = 100
"""The longest search query accepted (longer is refused, not cut)."""
MAX_WORD_CHARS = 64
"""A stored word is cut to this many characters (the column's width)."""

_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower-case ``text`` with accents and compatibility forms folded (``Æ`` stays ``æ``,
    ``ﬁ`` becomes ``fi``, ``ß`` becomes ``ss``)."""
    if text.isascii():  # no accents, nothing to decompose: the common case, 20x faster
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of ``text`` in order (apostrophes removed, not separating)."""
    return _joined_words(fold(text))


def _joined_words(folded: str) -> list[str]:
    return _WORD.findall(_APOSTROPHES.sub("", folded))


def name_key(name: str) -> str:
    """The folded name as its words joined by single spaces: the sort key of a match, and
    what a query must start with to be an exact-name-prefix match."""
    return _key(words(name))


def _key(found: list[str]) -> str:
    return " ".join(found)[:200]


def first_word(name: str) -> str | None:
    """The stored form of the name's first word (its row carries the name's order)."""
    return _first(words(name))


def _first(found: list[str]) -> str | None:
    return found[0][:MAX_WORD_CHARS] if found else None


def name_words(name: str) -> set[str]:
    """Every word a query word may prefix-match for this name (joined and split forms)."""
    folded = fold(name)
    return _all_words(folded, _joined_words(folded))


def _all_words(folded: str, joined: list[str]) -> set[str]:
    found = set(joined)
    found.update(_WORD.findall(_APOSTROPHES.sub(" ", folded)))
    return {w[:MAX_WORD_CHARS] for w in found}


class SearchedName(NamedTuple):
    """What the search stores of one name: :func:`name_key`, :func:`first_word` and
    :func:`name_words`, from one folding of it (a tuple: an import makes one a supplier)."""

    key: str
    first: str | None
    words: set[str]


def searched_name(name: str) -> SearchedName:
    folded = fold(name)
    if _APOSTROPHES.search(folded) is not None:
        joined = _joined_words(folded)
        return SearchedName(_key(joined), _first(joined), _all_words(folded, joined))
    # No apostrophe, the common case: the joined and the split words are the same words.
    found = _WORD.findall(folded)
    words = set(found)
    if any(len(word) > MAX_WORD_CHARS for word in words):
        words = {word[:MAX_WORD_CHARS] for word in words}
    return SearchedName(_key(found), _first(found), words)


def after_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (in code point
    order, which is byte order in UTF-8): ``prefix`` with its last character incremented."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def query_words(query: str) -> list[str]:
    """The folded words of ``query`` a match must each prefix, without those implied by a
    longer one (``oak oakley`` needs only ``oakley``), cut to the stored words' width."""
    found = {w[:MAX_WORD_CHARS] for w in words(query)}
    return sorted(w for w in found if not any(o != w and o.startswith(w) for o in found))
