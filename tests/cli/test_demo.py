"""The demo as a new user meets it: the README's first call, and running ``demo`` again."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from wedsync_success import demo
from wedsync_success.access.service import authenticate
from wedsync_success.cli import DEMO_EMAIL, FIRST_CURL, app
from wedsync_success.context import AppContext
from wedsync_success.kit.cli import run
from wedsync_success.synthetic import generate_population

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_makes_the_call_the_demo_prints() -> None:
    calls = re.findall(r"curl [^\n]*?'http://127\.0\.0\.1:8000(/api/v1/[^']+)'", README.read_text())
    assert calls, "the README shows no API call"
    assert calls[0] == FIRST_CURL


async def test_the_first_call_lists_current_customers(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    population = generate_population(suppliers=120, months=12, seed=3, end=ctx.clock())
    await demo.seed(ctx, population, progress=lambda *_: None)
    everyone = await client.get(FIRST_CURL.replace("current_only=true", "current_only=false"))
    shown = await client.get(FIRST_CURL)
    assert shown.status_code == 200, shown.text
    statuses = {s["subscription_status"] for s in shown.json()["items"]}
    assert shown.json()["items"], "no critical current customer: the check proves nothing"
    assert "cancelled" not in statuses
    assert "cancelled" in {s["subscription_status"] for s in everyone.json()["items"]}


def test_running_demo_again_says_how_to_sign_in_and_gives_a_key(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEDSYNC_CHURN_REGISTRY", str(tmp_path / "models"))
    args = ["demo", "--suppliers", "30", "--months", "4", "--no-serve"]
    first = runner.invoke(app, args, terminal_width=200)
    assert first.exit_code == 0, first.output
    for stage in ("generating", "suppliers", "events", "history", "delivering"):
        assert stage in first.output
    again = runner.invoke(app, args, terminal_width=200)
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())
    assert "already holds suppliers" in said
    assert f"sign in as {DEMO_EMAIL} / wedsync-demo" in said
    keys = re.findall(r"New admin API key: (wss_\S+)", said)
    assert len(keys) == 1
    assert f"Bearer {keys[0]}" in said

    async def check(ctx: AppContext) -> list[str]:
        async with ctx.db.sessions() as session:
            key = await authenticate(session=session, secret=keys[0])
        return list(key.scopes)

    assert run(check) == ["admin"]
