"""The demo as a new user meets it: the README's first call, and running ``demo`` again."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from wedsync_success import demo
from wedsync_success.access.models import TeamUser
from wedsync_success.access.service import authenticate
from wedsync_success.access.team import authenticate as team_authenticate
from wedsync_success.cli import DEMO_EMAIL, FIRST_CURL, app
from wedsync_success.context import AppContext
from wedsync_success.kit.cli import run
from wedsync_success.suppliers.models import Supplier
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


async def test_the_demo_team_owns_its_share_of_the_accounts_and_each_role_signs_in(
    ctx: AppContext,
) -> None:
    population = generate_population(suppliers=40, months=4, seed=5, end=ctx.clock())
    await demo.seed(
        ctx, population, progress=lambda *_: None, team=demo.DEMO_TEAM, password="pw-demo-team"
    )
    assert demo.DEMO_TEAM[0].email == DEMO_EMAIL  # the account the demo prints
    async with ctx.db.sessions() as session:
        rows = (
            await session.execute(
                select(TeamUser.email, TeamUser.role, func.count(Supplier.id))
                .outerjoin(Supplier, Supplier.account_owner_id == TeamUser.id)
                .group_by(TeamUser.email, TeamUser.role)
            )
        ).all()
        unowned = await session.scalar(
            select(func.count()).where(Supplier.account_owner_id.is_(None))
        )
    owned = {email: (role, n) for email, role, n in rows}
    assert owned == {
        "demo@wedsync.example": ("manager", 14),
        "maya@wedsync.example": ("manager", 12),
        "tom@wedsync.example": ("manager", 10),
        "lena@wedsync.example": ("admin", 0),
        "vera@wedsync.example": ("viewer", 0),
    }
    assert unowned == 4
    async with ctx.db.sessions() as session:
        for member in demo.DEMO_TEAM:
            user = await team_authenticate(
                session=session, email=member.email, password="pw-demo-team"
            )
            assert user.role == member.role
