"""``wedsync-success secrets …``: the keys that seal stored webhook signing secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from wedsync_success.kit.cli import Stages, console, progress_bar, run

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.integrations.webhooks.rekey import RekeyResult

secrets_app = typer.Typer(
    help="Sealed secrets: webhook endpoint signing secrets are stored encrypted; re-seal "
    "them under a new key. See docs/operations.md.",
    no_args_is_help=True,
)


@secrets_app.command("rekey")
def rekey() -> None:
    """Re-seal every stored webhook signing secret under the first sealing key.

    The keys are WEDSYNC_SEALING_KEYS, a JSON list: the FIRST key seals,
    EVERY key opens. Unset, WEDSYNC_SECRET_KEY alone seals and opens.

    To roll the key: OLD is the key that sealed the stored secrets (your
    WEDSYNC_SECRET_KEY if you never set WEDSYNC_SEALING_KEYS), NEW is its
    replacement (32+ random characters).

    1. In every process set WEDSYNC_SEALING_KEYS='["NEW", "OLD"]' and restart.
       Everything still opens; secrets made or rotated now are sealed by NEW.

    2. Run `wedsync-success secrets rekey` with those settings: one
       transaction seals every stored secret again under NEW. Running it
       again changes nothing.

    3. Set WEDSYNC_SEALING_KEYS='["NEW"]' everywhere and restart: OLD is no
       longer needed.

    A secret no listed key opens stops the command, naming its endpoint, and
    nothing is written. Rolling the sealing keys does not end dashboard
    sessions (WEDSYNC_SECRET_KEY still signs those)."""
    from wedsync_success.db.unit_of_work import UnitOfWork
    from wedsync_success.integrations.webhooks.rekey import rekey_secrets
    from wedsync_success.integrations.webhooks.sealing import KEYS_SETTING

    async def work(ctx: AppContext) -> tuple[RekeyResult, str]:
        sealer = ctx.webhooks.sealer
        with progress_bar() as bar:
            stages = Stages(bar)
            result = await UnitOfWork(ctx.db).run(
                lambda session: rekey_secrets(
                    session=session,
                    sealer=sealer,
                    progress=lambda done, total: stages("re-sealing", done, total),
                )
            )
        return result, sealer.setting

    result, setting = run(work)
    console.print(
        f"Re-sealed {result.resealed:,} secrets of {result.endpoints:,} endpoints under the "
        f"first key of {setting} ({result.current:,} already were)."
    )
    if setting != KEYS_SETTING:
        console.print(
            f"{KEYS_SETTING} is not set, so there was no other key to roll from: every "
            "stored secret opens with WEDSYNC_SECRET_KEY."
        )
