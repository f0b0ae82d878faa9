"""``wedsync-success referrals …``: compute the referral network, list its top connectors,
show one supplier's referral tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from wedsync_success.kit.cli import console, run

if TYPE_CHECKING:
    from wedsync_success.context import AppContext
    from wedsync_success.integrations.referrals.schemas import (
        ComputeSummary,
        ConnectorPage,
        ReferralNode,
        SupplierReferralsOut,
    )

referrals_app = typer.Typer(
    help="The referral network built from referral_sent / referral_converted events: "
    "recompute its metrics (reach, PageRank, k-core, super-connectors), list the top "
    "connectors, show a supplier's referral tree. docs/referrals.md explains the figures.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


@referrals_app.command("compute")
def compute() -> None:
    """Recompute every supplier's network metrics from the referral edges, in one pass.

    Edges are kept as events arrive; the metrics are recomputed here and after imports and
    full rescoring (`health recompute`). The super-connector rule is
    WEDSYNC_REFERRAL_SUPER_CONNECTOR_TOP_SHARE (default 0.01: the top 1 % by PageRank) and
    WEDSYNC_REFERRAL_SUPER_CONNECTOR_MIN_CONVERTED (default 3 converted referrals).
    """

    async def work(ctx: AppContext) -> ComputeSummary:
        from wedsync_success.integrations.referrals import service

        async with ctx.db.transaction() as session:
            return await service.compute(
                session=session, rule=service.rule_of(ctx.settings), now=ctx.clock()
            )

    summary = run(work)
    console.print(
        f"[green]{summary.suppliers}[/] suppliers in the network, {summary.edges} referrals, "
        f"{summary.network_edges} converted supplier-to-supplier edges, "
        f"{summary.super_connectors} super-connectors; {summary.written} metrics rows "
        f"written ({summary.seconds:.2f} s)."
    )


@referrals_app.command("top")
def top(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """The network's top connectors by PageRank (as of the last `referrals compute`)."""

    async def work(ctx: AppContext) -> ConnectorPage:
        from wedsync_success.integrations.referrals import service

        async with ctx.db.sessions() as session:
            return await service.top_connectors(session=session, limit=limit, cursor=None)

    page = run(work)
    if as_json:
        console.print_json(page.model_dump_json())
        return
    table = Table(title=f"Top connectors ({page.total} suppliers in the network)")
    for column in ("Supplier", "Sent", "Converted", "Reach", "PageRank", "k-core", "Super"):
        table.add_column(column, justify="left" if column == "Supplier" else "right")
    for c in page.items:
        table.add_row(
            escape(c.business_name),
            str(c.sent),
            str(c.converted),
            str(c.reach),
            f"{c.pagerank:.5f}",
            str(c.core),
            "★" if c.super_connector else "",
        )
    console.print(table)


@referrals_app.command("tree")
def tree(
    supplier: Annotated[str, typer.Argument(help="The supplier's id or external id")],
    depth: Annotated[int, typer.Option(min=1, max=5, help="Levels of the tree")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Whom SUPPLIER referred and, for those who signed up, whom they referred in turn."""

    async def work(ctx: AppContext) -> SupplierReferralsOut:
        from wedsync_success.integrations.referrals import service
        from wedsync_success.suppliers.service import resolve_supplier_ref

        async with ctx.db.sessions() as session:
            supplier_id = await resolve_supplier_ref(session=session, ref=supplier)
            return await service.supplier_referrals(
                session=session, supplier_id=supplier_id, depth=depth
            )

    found = run(work)
    if as_json:
        console.print_json(found.model_dump_json())
        return
    m = found.metrics
    root = Tree(
        f"[bold]{escape(supplier)}[/]: {m.sent} sent, {m.converted} converted, reach {m.reach}"
        + (" [yellow]★ super-connector[/]" if m.super_connector else "")
    )
    _grow(root, found.tree, found.more)
    console.print(root)


def _grow(branch: Tree, nodes: list[ReferralNode], more: int) -> None:
    for node in nodes:
        label = escape(node.business_name or node.referee_key)
        status = "[green]joined[/]" if node.converted_at else "[dim]invited[/]"
        _grow(branch.add(f"{label} {status}"), node.referrals, node.more)
    if more:
        branch.add(f"[dim]… {more} more[/]")
