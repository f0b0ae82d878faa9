"""The event roles file: WedSync's defaults drive the domain features, bad files name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.activity.roles import (
    DEFAULT_PATH,
    Role,
    load_event_roles,
    parse_event_roles,
)
from wedsync_success.churn import windows
from wedsync_success.health.config import load_health_config
from wedsync_success.kit.errors import ConfigError

DEFAULT_TEXT = DEFAULT_PATH.read_text(encoding="utf-8")


def _fields(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    return " ".join(f"{d['field']}: {d['reason']}" for d in exc.value.details or [])


def test_the_defaults_are_wedsyncs_names() -> None:
    roles = load_event_roles(DEFAULT_PATH)
    assert roles.types(Role.LOGIN) == ("login",)
    assert roles.types(Role.BILLING_FAILURE) == ("payment_failed",)
    assert windows.LOGIN == ("login",)
    assert roles.types(Role.CORE_FEATURE) == windows.ADOPTION
    # The feature store keeps its columns (the migration's) with the default roles.
    assert "adoption_breadth_30d__form_created" in {w.column for w in windows.STORED_WINDOWS}


def test_support_resolved_is_an_action_not_a_feature() -> None:
    """It may be left out (nothing asks CSAT after a ticket), and its types are not "mapped"
    (they keep their generic churn features)."""
    roles = load_event_roles(DEFAULT_PATH)
    assert roles.types(Role.SUPPORT_RESOLVED) == ("support_ticket_closed",)
    assert "support_ticket_closed" not in roles.mapped
    assert "support_ticket_opened" in roles.mapped
    lines = [line for line in DEFAULT_TEXT.splitlines() if "support_resolved:" not in line]
    without = parse_event_roles("\n".join(lines))
    assert without.types(Role.SUPPORT_RESOLVED) == ()


def test_an_unknown_role_is_named() -> None:
    text = DEFAULT_TEXT.replace("  support: [support_ticket_opened]", "  helpdesk: [ticket]")
    with pytest.raises(ConfigError) as exc:
        parse_event_roles(text)
    assert "roles.helpdesk" in _fields(exc)


def test_a_type_listed_twice_for_a_role_is_named() -> None:
    text = DEFAULT_TEXT.replace("billing_failure: [payment_failed]", "billing_failure: [a, b, a]")
    with pytest.raises(ConfigError) as exc:
        parse_event_roles(text)
    assert "roles" in _fields(exc)
    assert "billing_failure: a listed more than once" in _fields(exc)


def test_a_role_given_twice_is_named() -> None:
    text = DEFAULT_TEXT.replace(
        "  invoice: [invoice_sent]", "  invoice: [invoice_sent]\n  invoice: [bill_sent]"
    )
    with pytest.raises(ConfigError) as exc:
        parse_event_roles(text, source="mine.yaml")
    assert exc.value.message.startswith("mine.yaml")
    assert "invoice: duplicate mapping key" in _fields(exc)


def test_missing_role_too_many_logins_and_bad_ratio() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_event_roles(DEFAULT_TEXT.replace("  referral: [referral_sent]\n", ""))
    assert "referral" in _fields(exc)
    with pytest.raises(ConfigError) as exc:
        parse_event_roles(DEFAULT_TEXT.replace("login: [login]", "login: [login, session]"))
    assert "login maps to at most one" in _fields(exc)
    with pytest.raises(ConfigError) as exc:
        parse_event_roles(DEFAULT_TEXT.replace("ratios: []", "ratios: [[login, login]]"))
    assert "generic.ratios" in _fields(exc)


def test_another_product_maps_its_own_names(tmp_path: Path) -> None:
    text = DEFAULT_TEXT.replace("login: [login]", "login: [session_started]").replace(
        "support: [support_ticket_opened]", "support: []"
    )
    path = tmp_path / "roles.yaml"
    path.write_text(text, encoding="utf-8")
    roles = load_event_roles(path)
    assert roles.types(Role.LOGIN) == ("session_started",)
    assert roles.types(Role.SUPPORT) == ()


@given(st.text(max_size=300))
def test_any_text_is_refused_cleanly_or_parsed(text: str) -> None:
    """Hostile text never escapes as anything but a ConfigError with a message."""
    error: ConfigError | None = None
    try:
        parse_event_roles(text)
    except ConfigError as exc:
        error = exc
    assert error is None or error.message


def test_the_health_file_reads_wedsyncs_types_through_the_roles() -> None:
    """The default health file names roles; they expand to exactly the lists it had."""
    config = load_health_config(DEFAULT_PATH.parent / "health.yaml")
    c = config.components
    assert c.adoption.event_types == [
        "form_created",
        "form_submitted",
        "client_added",
        "journey_started",
        "journey_completed",
        "message_sent",
        "invoice_sent",
        "feature_used",
    ]
    assert c.clients.event_types == [
        "client_added",
        "form_submitted",
        "journey_started",
        "journey_completed",
        "invoice_sent",
    ]
    assert c.billing.event_types == ["payment_failed"]
    assert c.support.event_types == ["support_ticket_opened"]
    assert c.referrals.event_types == ["referral_sent"]
    assert c.referrals.bonus_event_types == ["referral_converted"]


def test_the_health_file_names_an_unknown_role(tmp_path: Path) -> None:
    text = (DEFAULT_PATH.parent / "health.yaml").read_text(encoding="utf-8")
    path = tmp_path / "health.yaml"
    path.write_text(text.replace('"role:support"', '"role:helpdesk"'), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_health_config(path)
    assert "components.support.event_types" in _fields(exc)
    assert "unknown role 'helpdesk'" in _fields(exc)
