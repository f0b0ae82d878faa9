"""The campaigns file: the shipped one loads; a hostile value anywhere is refused with the
field named; webhook secrets come from the environment and are checked at start."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile.strategies import hostile_text
from wedsync_success.config import DEFAULTS_DIR
from wedsync_success.integrations.marketing.campaigns import load_campaigns
from wedsync_success.kit.errors import ConfigError
from wedsync_success.kit.standard_webhooks import new_secret

BASE: dict[str, Any] = {
    "version": 1,
    "campaigns": [
        {
            "key": "rescue",
            "when": "risk_rise",
            "min_level": "at_risk",
            "cooldown_days": 30,
            "action": {"track": "Churn Risk Rescue Started"},
        },
        {
            "key": "stalled",
            "when": "segment_entered",
            "segment": "onboarding_stalled",
            "cooldown_days": 14,
            "action": {"webhook": {"url": "https://hooks.example.com/stalled?x=1"}},
        },
    ],
}

HOSTILE: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {
    ("version",): st.sampled_from([0, 2, "1", None, 1.5, []]),
    ("campaigns",): st.sampled_from([None, "all", {}, [None], [BASE["campaigns"][0]] * 201]),
    ("campaigns", 0, "key"): st.one_of(
        st.sampled_from(["", "a", "Rescue", "x" * 65, "a b", "a\x00", 5, None, "é" * 3]),
        hostile_text.filter(lambda t: not t.isascii() or not t.islower()),
    ),
    ("campaigns", 0, "when"): st.sampled_from(["risk_fall", "", None, 3, "RISK_RISE"]),
    ("campaigns", 0, "cooldown_days"): st.sampled_from(
        [0, -1, 3651, 1e308, float("inf"), float("nan"), "soon", None, []]
    ),
    ("campaigns", 0, "min_level"): st.sampled_from(["onboarding", "worst", 1, "", "AT_RISK"]),
    ("campaigns", 0, "description"): st.one_of(
        st.sampled_from(["x" * 501, "a\x00b", "\x1b[31mred", "\u2028", "\ud800", 7]),
        hostile_text.filter(lambda t: not t.isprintable()),
    ),
    ("campaigns", 0, "action"): st.sampled_from(
        [
            {},
            None,
            {"track": "A", "webhook": {"url": "https://x.example"}},
            {"track": ""},
            {"track": "a\x00b"},
            {"track": "x" * 201},
            {"track": "\ud83d"},
            {"bogus": 1},
        ]
    ),
    ("campaigns", 1, "segment"): st.sampled_from(["", "-x", "A B", "x" * 65, None, "a/b"]),
    ("campaigns", 1, "action", "webhook", "url"): st.sampled_from(
        [
            "ftp://hooks.example.com",
            "http://user:pw@hooks.example.com/",
            "https://",
            "javascript:alert(1)",
            "https://hooks.example.com/" + "x" * 2000,
            "https://hooks.example.com/a b",
            "http://127.0.0.1/hooks",
            "http://2130706433/hooks",
            "http://0x7f.1:8080/",
            "https://[::ffff:10.0.0.1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/",
            "http://localhost:8080/hooks",
            None,
        ]
    ),
    ("campaigns", 1, "action", "webhook", "secret_env"): st.sampled_from(
        ["", "lower", "9STARTS_WITH_DIGIT", "A" * 101, "WITH-DASH"]
    ),
    ("campaigns", 0, "surprise"): st.just(1),
}


def write(data: Any, folder: str) -> Path:
    path = Path(folder) / "campaigns.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML; escapes survive
    return path


def set_at(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def test_the_shipped_file_and_the_base_load() -> None:
    shipped = load_campaigns(DEFAULTS_DIR / "campaigns.yaml", allow_private=False)
    assert [c.key for c in shipped.file.campaigns] == [
        "churn_risk_rescue",
        "onboarding_stalled_nudge",
    ]
    with tempfile.TemporaryDirectory() as folder:
        loaded = load_campaigns(write(BASE, folder), allow_private=False)
    assert loaded.targets["stalled"].url == "https://hooks.example.com/stalled?x=1"
    assert loaded.targets["stalled"].secret is None


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_hostile_value_is_refused_naming_its_field(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(HOSTILE, key=str)))
    value = data.draw(HOSTILE[path])
    hostile = set_at(copy.deepcopy(BASE), path, value)
    with tempfile.TemporaryDirectory() as folder, pytest.raises(ConfigError) as refused:
        load_campaigns(write(hostile, folder), allow_private=False)
    fields = [d["field"] for d in refused.value.details]
    assert all(d["reason"] for d in refused.value.details)
    named = [str(p) for p in path if not isinstance(p, int)][-1]
    assert any(named in f.split(".") for f in fields), (path, value, fields)
    index = next((p for p in path if isinstance(p, int)), None)
    if index is not None:
        assert any(f.startswith(f"campaigns.{index}") for f in fields), fields


def test_duplicate_keys_are_refused() -> None:
    twice = copy.deepcopy(BASE)
    twice["campaigns"][1]["key"] = "rescue"
    with tempfile.TemporaryDirectory() as folder, pytest.raises(ConfigError) as refused:
        load_campaigns(write(twice, folder), allow_private=False)
    assert "used twice" in refused.value.details[0]["reason"]


@pytest.mark.parametrize(
    ("environ", "reason"),
    [({}, "is not set"), ({"HOOK_SECRET": "whsec_short"}, "secret")],
)
def test_a_webhook_secret_must_be_set_and_usable(environ: dict[str, str], reason: str) -> None:
    signed = set_at(
        copy.deepcopy(BASE), ("campaigns", 1, "action", "webhook", "secret_env"), "HOOK_SECRET"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write(signed, folder)
        with pytest.raises(ConfigError) as refused:
            load_campaigns(path, environ, allow_private=False)
        secret = new_secret()
        assert (
            load_campaigns(path, {"HOOK_SECRET": secret}, allow_private=False)
            .targets["stalled"]
            .secret
            == secret
        )
    [detail] = refused.value.details
    assert detail["field"] == "campaigns.1.action.webhook.secret_env"
    assert reason in detail["reason"]
