"""The playbooks file: the shipped defaults load, and each kind of mistake names its field."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.interventions.playbooks import load_playbooks, parse_duration
from wedsync_success.kit.errors import ConfigError

DEFAULTS = DEFAULTS_DIR / "playbooks.yaml"


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "playbooks.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _defaults() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    return data


def _fields(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_playbooks(_write(tmp_path, data))
    return [d["field"] for d in caught.value.details or []]


def test_the_shipped_playbooks_cover_the_wedding_supplier_journeys() -> None:
    catalog = load_playbooks(DEFAULTS)
    assert {p.key for p in catalog.playbooks} == {
        "at_risk_rescue",
        "failed_payment_recovery",
        "onboarding_nudge",
        "milestone_celebration",
        "referral_ask",
        "referral_milestone_ask",
        "detractor_follow_up",
    }
    rescue = catalog.get("at_risk_rescue")
    assert rescue is not None
    assert [getattr(s, "channel", "wait") for s in rescue.steps] == [
        "email",
        "wait",
        "in_app",
        "wait",
        "sms",
        "task",
    ]
    assert catalog.triggered_by("supplier.risk_level_changed") == [rescue]


def test_a_bad_wait_names_the_step(tmp_path: Path) -> None:
    data = _defaults()
    data["playbooks"][0]["steps"][1] = {"wait": "two days"}
    assert any(f.startswith("playbooks.0.steps.1") for f in _fields(tmp_path, data))


def test_an_unknown_trigger_event_is_refused(tmp_path: Path) -> None:
    data = _defaults()
    data["playbooks"][0]["trigger"]["event"] = "supplier.became_sad"
    assert "playbooks.0.trigger.event" in _fields(tmp_path, data)


def test_an_unknown_field_is_refused_not_ignored(tmp_path: Path) -> None:
    data = _defaults()
    data["playbooks"][0]["holdot"] = 0.2
    assert "playbooks.0.holdot" in _fields(tmp_path, data)


def test_duplicate_keys_and_undeclared_webhook_targets_are_refused(tmp_path: Path) -> None:
    data = _defaults()
    data["playbooks"].append(dict(data["playbooks"][0]))
    with pytest.raises(ConfigError, match="schema"):
        load_playbooks(_write(tmp_path, data))
    data = _defaults()
    data["playbooks"][0]["steps"].append(
        {"channel": "webhook", "target": "marketing", "action": "start_campaign"}
    )
    with pytest.raises(ConfigError) as caught:
        load_playbooks(_write(tmp_path, data))
    assert "marketing" in str(caught.value.details)


def test_a_playbook_of_waits_only_and_a_holdout_out_of_range_are_refused(tmp_path: Path) -> None:
    data = _defaults()
    data["playbooks"][0]["steps"] = [{"wait": "2d"}]
    data["playbooks"][1]["holdout"] = 1.5
    fields = _fields(tmp_path, data)
    assert "playbooks.0" in fields
    assert "playbooks.1.holdout" in fields


@pytest.mark.parametrize(
    ("text", "delta"),
    [("90m", timedelta(minutes=90)), ("6h", timedelta(hours=6)), ("2d", timedelta(days=2))],
)
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@given(st.text(max_size=12))
def test_any_duration_text_parses_or_is_refused_with_a_reason(text: str) -> None:
    if re.fullmatch(r"\s*\d{1,4}[mhd]\s*", text):
        assert parse_duration(text) >= timedelta()
    else:
        with pytest.raises(ValueError, match="m, h or d"):
            parse_duration(text)
