"""The import's one-pass folding of a name gives exactly what the search's separate
functions give, and the ASCII shortcut of ``fold`` is the full Unicode folding."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.suppliers.names import (
    first_word,
    fold,
    name_key,
    name_words,
    searched_name,
)

NAME_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from("'’ʼ`-&._ ÉéßﬁÆœ\u0301"),
    max_size=80,
)


def _full_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@given(st.text(st.characters(max_codepoint=127)))
def test_the_ascii_shortcut_folds_as_unicode_does(text: str) -> None:
    assert fold(text) == _full_fold(text)


@given(NAME_TEXT)
def test_fold_is_the_full_folding_for_any_text(text: str) -> None:
    assert fold(text) == _full_fold(text)


@given(NAME_TEXT)
def test_one_pass_gives_the_key_the_first_word_and_the_words(name: str) -> None:
    searched = searched_name(name)
    assert searched.key == name_key(name)
    assert searched.first == first_word(name)
    assert searched.words == name_words(name)


def test_an_accented_name_still_folds() -> None:
    assert searched_name("Café Lumière").words == {"cafe", "lumiere"}
    assert searched_name("O'Brien's Cakes").first == "obriens"


def test_a_long_word_is_cut_to_the_stored_width_with_or_without_apostrophes() -> None:
    for name in ("x" * 70 + " Oak", "x" * 70 + " O'Brien"):
        searched = searched_name(name)
        assert searched.words == name_words(name)
        assert "x" * 64 in searched.words
        assert searched.first == "x" * 64
