"""Signed links: they round-trip, and nothing altered, forged or made for another purpose is
accepted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.conftest import TEST_SECRET_KEY
from tests.interventions.conftest import PUBLIC_BASE
from wedsync_success.config import Settings
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.links import (
    InvalidLink,
    TrackingLinks,
    list_unsubscribe_headers,
    tracking_links,
)
from wedsync_success.kit.errors import NotFound

LINKS = TrackingLinks(TEST_SECRET_KEY, PUBLIC_BASE + "/")
OTHER_KEY = TrackingLinks("another-secret-key-of-at-least-32-characters!", PUBLIC_BASE)
ID = uuid.UUID("6f1c2a56-0a4e-4d8e-9c1b-2f9d7e3a4b5c")
TARGET = "https://app.wedsync.example/forms/new?utm_source=rescue"


def token_of(url: str, prefix: str, suffix: str = "") -> str:
    path = urlsplit(url).path
    assert path.startswith(prefix), url
    assert path.endswith(suffix), url
    return path[len(prefix) : len(path) - len(suffix)]


def test_links_start_with_the_public_address_and_round_trip() -> None:
    pixel = LINKS.pixel_url(ID)
    assert pixel.startswith(f"{PUBLIC_BASE}/t/o/")
    assert pixel.endswith(".gif")
    assert LINKS.verify_open(token_of(pixel, "/t/o/", ".gif")) == ID

    click = LINKS.verify_click(token_of(LINKS.click_url(ID, TARGET), "/t/c/"))
    assert (click.intervention_id, click.target) == (ID, TARGET)

    user = uuid.uuid4()
    url = LINKS.unsubscribe_url(user, Channel.SMS, Category.TRANSACTIONAL)
    assert url.startswith(f"{PUBLIC_BASE}/u/")
    choice = LINKS.verify_unsubscribe(token_of(url, "/u/"))
    assert (choice.supplier_user_id, choice.channel, choice.category) == (
        user,
        Channel.SMS,
        Category.TRANSACTIONAL,
    )


def test_the_settings_give_the_public_address() -> None:
    settings = Settings(secret_key=TEST_SECRET_KEY, public_base_url="https://x.example/success/")
    assert tracking_links(settings).pixel_url(ID).startswith("https://x.example/success/t/o/")
    assert Settings().public_base_url == "http://127.0.0.1:8000"
    for wrong in ("success.wedsync.example", "ftp://x.example", "https://x.example/?a=1", ""):
        with pytest.raises(ValidationError, match="public_base_url"):
            Settings(public_base_url=wrong)


def _altered(token: str) -> list[str]:
    """Every one-character change of the token, plus cut and extended copies."""
    alphabet = "AZaz09-_."
    changed = [
        token[:i] + c + token[i + 1 :] for i in range(len(token)) for c in alphabet if c != token[i]
    ]
    return [*changed, token[:-1], token + "A", token[1:], ""]


def test_tampered_tokens_are_refused() -> None:
    """Every change is refused, except a last base64 character whose unused low bits alone
    differ: it decodes to the very same signed bytes, so it names the same thing."""
    pixel = token_of(LINKS.pixel_url(ID), "/t/o/", ".gif")
    click = token_of(LINKS.click_url(ID, TARGET), "/t/c/")
    unsubscribe = token_of(LINKS.unsubscribe_url(ID, Channel.EMAIL, Category.MARKETING), "/u/")
    verifiers: list[tuple[str, Callable[[str], object]]] = [
        (pixel, LINKS.verify_open),
        (click, LINKS.verify_click),
        (unsubscribe, LINKS.verify_unsubscribe),
    ]
    for token, verify in verifiers:
        original = verify(token)
        accepted = []
        for altered in _altered(token):
            try:
                value = verify(altered)
            except InvalidLink:
                continue
            assert value == original, altered
            accepted.append(altered)
        assert all(a[:-1] == token[:-1] for a in accepted), accepted
        assert len(accepted) <= 3


def test_a_token_is_good_for_its_own_purpose_and_key_only() -> None:
    pixel = token_of(LINKS.pixel_url(ID), "/t/o/", ".gif")
    click = token_of(LINKS.click_url(ID, TARGET), "/t/c/")
    unsubscribe = token_of(LINKS.unsubscribe_url(ID, Channel.EMAIL, Category.MARKETING), "/u/")
    for wrong in (click, unsubscribe):
        with pytest.raises(InvalidLink):
            LINKS.verify_open(wrong)
    for wrong in (pixel, unsubscribe):
        with pytest.raises(InvalidLink):
            LINKS.verify_click(wrong)
    for wrong in (pixel, click):
        with pytest.raises(InvalidLink):
            LINKS.verify_unsubscribe(wrong)
    with pytest.raises(InvalidLink):
        OTHER_KEY.verify_open(pixel)
    with pytest.raises(InvalidLink):
        OTHER_KEY.verify_click(click)


def test_the_click_target_is_inside_the_signature() -> None:
    """Another target cannot be swapped in: the token carries it, signed."""
    evil = token_of(LINKS.click_url(ID, "https://evil.example/"), "/t/c/")
    good = token_of(LINKS.click_url(ID, TARGET), "/t/c/")
    payload, _, signature = good.rpartition(".")
    evil_payload = evil.rpartition(".")[0]
    with pytest.raises(InvalidLink):
        LINKS.verify_click(f"{evil_payload}.{signature}")
    assert payload != evil_payload


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "//evil.example/",
        "/relative/path",
        "data:text/html,hi",
        "https://",
        "https://ok.example/a b",
        "https://ok.example/\r\nSet-Cookie: x",
        "https://ok.example/" + "a" * 2000,
    ],
)
def test_only_absolute_http_targets_are_signed(target: str) -> None:
    with pytest.raises(ValueError, match="click target"):
        LINKS.click_url(ID, target)


def test_invalid_links_are_not_found_errors() -> None:
    assert issubclass(InvalidLink, NotFound)


@given(st.text(max_size=300))
def test_arbitrary_tokens_are_refused_with_invalid_link_only(token: str) -> None:
    for verify in (LINKS.verify_open, LINKS.verify_click, LINKS.verify_unsubscribe):
        with pytest.raises(InvalidLink):
            verify(token)


def test_list_unsubscribe_headers_offer_one_click() -> None:
    url = LINKS.unsubscribe_url(ID, Channel.EMAIL, Category.MARKETING)
    assert list_unsubscribe_headers(url) == {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
