"""The referral network: edges folded from activity as it lands, metrics recomputed whole.

Edges are kept incrementally (:func:`fold_batch`, called by the ingest and demo-load paths
with each batch); the metrics are a set-based pass over every edge (:func:`compute`), run
by ``wedsync-success referrals compute`` and after imports and full rescoring.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.activity.roles import Role, current_roles
from wedsync_success.config import Settings
from wedsync_success.integrations.referrals import repository
from wedsync_success.integrations.referrals.models import ReferralMetric
from wedsync_success.integrations.referrals.schemas import (
    ComputeSummary,
    ConnectorOut,
    ConnectorPage,
    NetworkMetricsOut,
    ReferralNode,
    SupplierReferralsOut,
)
from wedsync_success.kit.deferred import load
from wedsync_success.kit.errors import NotFound
from wedsync_success.kit.pagination import decode_cursor, encode_cursor
from wedsync_success.suppliers import repository as supplier_repository

if TYPE_CHECKING:
    from wedsync_success.integrations.referrals.graph import IntArray

GRAPH = "wedsync_success.integrations.referrals.graph"
"""The graph maths, over SciPy: loaded on the first compute (``kit/deferred.py`` says
why heavy numerical libraries are not imported with the app)."""

MAX_TREE_DEPTH = 5
MAX_TREE_WIDTH = 50
"""A tree shows at most this many referrals of one supplier (the rest are counted)."""


@dataclass(frozen=True)
class SuperConnectorRule:
    """Top ``top_share`` of the network by PageRank with ``min_converted`` conversions."""

    top_share: float
    min_converted: int


def rule_of(settings: Settings) -> SuperConnectorRule:
    """The super-connector rule the settings state
    (``WEDSYNC_REFERRAL_SUPER_CONNECTOR_TOP_SHARE`` / ``_MIN_CONVERTED``)."""
    return SuperConnectorRule(
        top_share=settings.referral_super_connector_top_share,
        min_converted=settings.referral_super_connector_min_converted,
    )


async def fold_batch(*, session: AsyncSession, batch_id: int | None) -> None:
    """Fold the referral events stored under ``batch_id`` into the edges (``None``: every
    stored event, a rebuild); the event types are those of the ``referral`` and
    ``referral_conversion`` roles."""
    roles = current_roles()
    await repository.upsert_edges(
        session,
        sent_types=roles.types(Role.REFERRAL),
        converted_types=roles.types(Role.REFERRAL_CONVERSION),
        batch_id=batch_id,
    )


UuidBytes = npt.NDArray[np.void]
"""UUIDs as 16-byte NumPy values (``V16``: ``S16`` would drop trailing zero bytes), in the
order of the UUIDs themselves."""


def node_numbers(values: UuidBytes) -> tuple[UuidBytes, IntArray]:
    """The distinct ids (sorted) and each value's number among them, all in NumPy: no UUID
    object is built."""
    distinct, numbers = np.unique(values, return_inverse=True)
    return distinct, numbers.astype(np.int64).ravel()


def hex_ids(ids: UuidBytes) -> list[str]:
    """Each id as 32 hex digits: how SQLite stores a ``Uuid``, and text PostgreSQL's
    ``COPY`` takes as one."""
    digits = ids.tobytes().hex()
    return [digits[i : i + 32] for i in range(0, len(digits), 32)]


@dataclass(frozen=True)
class Network:
    """The edges as node numbers: every edge's referrer (for sent and converted counts), and
    the supplier-to-supplier edges ``src -> dst`` of the graph."""

    ids: UuidBytes
    referrer: IntArray
    converted: npt.NDArray[np.bool_]
    src: IntArray
    dst: IntArray

    @classmethod
    def of(cls, edges: npt.NDArray[np.void]) -> Network:
        """From :func:`repository.edge_records`: the graph's edges are the converted
        referrals naming a stored supplier."""
        kind = edges["kind"]
        linked = kind == repository.LINKED
        referrers = edges["referrer"]
        ids, numbers = node_numbers(np.concatenate([referrers, edges["referee"][linked]]))
        m = referrers.size
        return cls(ids, numbers[:m], kind != repository.PENDING, numbers[:m][linked], numbers[m:])


async def compute(
    *, session: AsyncSession, rule: SuperConnectorRule, now: datetime
) -> ComputeSummary:
    """Recompute every supplier's referral metrics from the edges, writing only the rows
    that changed (``computed_at`` is when a row's figures were last written)."""
    started = time.perf_counter()
    await load(GRAPH)  # SciPy: imported on the first compute, off the event loop, not with the app
    graph = sys.modules[GRAPH]
    network = Network.of(await repository.edge_records(session))
    ids, src_all, converted = network.ids, network.referrer, network.converted
    n, m = len(ids), src_all.size
    src, dst = network.src, network.dst
    sent = np.bincount(src_all, minlength=n)
    conversions = np.bincount(src_all[converted], minlength=n)
    found = graph.metrics(n, src, dst)
    supers = graph.super_connectors(
        found.pagerank, conversions, top_share=rule.top_share, min_converted=rule.min_converted
    )
    written = await repository.write_metrics(
        session,
        columns={
            "supplier_id": hex_ids(ids),
            "sent": sent.tolist(),
            "converted": conversions.tolist(),
            "reach": found.reach.tolist(),
            "in_degree": found.in_degree.tolist(),
            "out_degree": found.out_degree.tolist(),
            "pagerank": found.pagerank.tolist(),
            "core": found.core.tolist(),
            "super_connector": supers.tolist(),
        },
        computed_at=now,
    )
    return ComputeSummary(
        suppliers=n,
        edges=m,
        network_edges=int(found.out_degree.sum()),
        super_connectors=int(supers.sum()),
        written=written,
        seconds=round(time.perf_counter() - started, 3),
    )


def metrics_out(metric: ReferralMetric | None) -> NetworkMetricsOut:
    """A metrics row as the API shows it; a supplier outside the network reads as zeros."""
    if metric is None:
        return NetworkMetricsOut(
            sent=0,
            converted=0,
            reach=0,
            in_degree=0,
            out_degree=0,
            pagerank=0.0,
            core=0,
            super_connector=False,
            computed_at=None,
        )
    return NetworkMetricsOut(
        sent=metric.sent,
        converted=metric.converted,
        reach=metric.reach,
        in_degree=metric.in_degree,
        out_degree=metric.out_degree,
        pagerank=metric.pagerank,
        core=metric.core,
        super_connector=metric.super_connector,
        computed_at=metric.computed_at,
    )


async def supplier_referrals(
    *, session: AsyncSession, supplier_id: uuid.UUID, depth: int
) -> SupplierReferralsOut:
    """A supplier's metrics and referral tree ``depth`` levels down (one query a level; at
    most :data:`MAX_TREE_WIDTH` referrals shown per supplier, the rest counted in ``more``;
    a supplier met twice, through a cycle, is expanded once)."""
    if not await supplier_repository.existing_ids(session, [supplier_id]):
        raise NotFound(
            f"No supplier with id {supplier_id}",
            details=[{"field": "supplier_id", "reason": "names no supplier"}],
        )
    depth = max(1, min(depth, MAX_TREE_DEPTH))
    out = SupplierReferralsOut(
        supplier_id=supplier_id,
        metrics=metrics_out(await repository.metrics_of(session, supplier_id)),
        depth=depth,
        tree=[],
    )
    level: dict[uuid.UUID, ReferralNode | SupplierReferralsOut] = {supplier_id: out}
    seen = {supplier_id}
    for current in range(depth):
        following: dict[uuid.UUID, ReferralNode | SupplierReferralsOut] = {}
        for referrer, key, referee, sent_at, converted_at, name in await repository.referees_of(
            session, list(level)
        ):
            parent = level[referrer]
            children = parent.tree if isinstance(parent, SupplierReferralsOut) else parent.referrals
            if len(children) >= MAX_TREE_WIDTH:
                parent.more += 1
                continue
            node = ReferralNode(
                referee_key=key,
                supplier_id=referee,
                business_name=name,
                sent_at=sent_at,
                converted_at=converted_at,
            )
            children.append(node)
            if referee is not None and converted_at is not None and referee not in seen:
                seen.add(referee)
                if current + 1 < depth:
                    following[referee] = node
        level = following
        if not level:
            break
    return out


async def top_connectors(*, session: AsyncSession, limit: int, cursor: str | None) -> ConnectorPage:
    """The network's suppliers by PageRank, highest first, a keyset page at a time."""
    after = decode_cursor(cursor, shape=(float, uuid.UUID)) if cursor else None
    rows = await repository.top(
        session, limit=limit + 1, after=(after[0], after[1]) if after else None
    )
    items = [
        ConnectorOut(
            supplier_id=metric.supplier_id,
            business_name=name,
            **metrics_out(metric).model_dump(),
        )
        for metric, name in rows[:limit]
    ]
    last = items[-1] if len(rows) > limit else None
    return ConnectorPage(
        items=items,
        total=await repository.network_size(session),
        next_cursor=encode_cursor([last.pagerank, str(last.supplier_id)]) if last else None,
    )
