"""``wedsync-success referrals compute|top|tree``, on each backend."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from tests.factories import event, supplier
from wedsync_success.cli import app

runner = CliRunner()


def _converted(referrer: str, referee: str, at: datetime) -> dict[str, object]:
    return event(
        referrer,
        "referral_converted",
        at,
        properties={"referred": f"{referee}@x.example", "referred_supplier_id": referee},
    )


def test_the_command_line_computes_lists_and_draws_the_tree(cli_db: str, tmp_path: Path) -> None:
    from wedsync_success.kit.cli import run
    from wedsync_success.suppliers.service import upsert_batch

    bodies = [supplier(signed_up_at="2026-01-01T00:00:00+00:00") for _ in range(3)]
    bodies[0]["business_name"] = "[b]Rt[/b]"

    async def work(ctx):  # type: ignore[no-untyped-def]
        async with ctx.db.transaction() as session:
            await upsert_batch(session=session, items=bodies, now=ctx.clock())

    run(work)
    root, child, grandchild = (str(b["id"]) for b in bodies)
    when = datetime.now(UTC) - timedelta(days=1)
    lines = [
        json.dumps(_converted(root, child, when)),
        json.dumps(_converted(child, grandchild, when)),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert runner.invoke(app, ["import", "events", str(path)]).exit_code == 0
    computed = runner.invoke(app, ["referrals", "compute"])
    assert computed.exit_code == 0, computed.output
    assert "3 suppliers in the network" in computed.output
    assert "0 metrics rows written" in computed.output  # the import computed them already
    top = runner.invoke(app, ["referrals", "top", "--json"])
    assert top.exit_code == 0, top.output
    items = json.loads(top.output)["items"]
    assert items[0]["supplier_id"] == root
    assert items[0]["reach"] == 2
    shown = runner.invoke(app, ["referrals", "tree", root])
    assert shown.exit_code == 0, shown.output
    assert "[b]Rt[/b]" in runner.invoke(app, ["referrals", "top"]).output
    assert "reach 2" in shown.output
    assert shown.output.count("joined") == 2
    missing = runner.invoke(app, ["referrals", "tree", str(uuid.uuid4())])
    assert missing.exit_code != 0
