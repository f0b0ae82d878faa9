"""Pydantic shapes of the referral network's API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class NetworkMetricsOut(BaseModel):
    """A supplier's place in the referral network (zeros when it is not in it)."""

    sent: int = Field(description="Referrals sent (each referred business once)")
    converted: int = Field(description="Referrals that signed up")
    reach: int = Field(
        description="Suppliers brought in directly or down the chain (descendants over "
        "converted referrals)"
    )
    in_degree: int = Field(description="Suppliers who referred this one")
    out_degree: int = Field(description="Suppliers this one referred who signed up")
    pagerank: float = Field(description="PageRank with credit flowing back to referrers")
    core: int = Field(description="k-core number in the undirected referral graph")
    super_connector: bool
    computed_at: datetime | None = Field(
        description="When these figures were computed (a recompute that finds them unchanged "
        "keeps the time); null outside the network"
    )


class ConnectorOut(NetworkMetricsOut):
    supplier_id: uuid.UUID
    business_name: str


class ConnectorPage(BaseModel):
    items: list[ConnectorOut]
    total: int = Field(description="Suppliers in the network")
    next_cursor: str | None = None


class ReferralNode(BaseModel):
    """One referred business and, when it signed up, those it referred in turn."""

    referee_key: str
    supplier_id: uuid.UUID | None
    business_name: str | None
    sent_at: datetime | None
    converted_at: datetime | None
    referrals: list[ReferralNode] = Field(default_factory=list)
    more: int = Field(default=0, description="Referrals left out past the width limit")


class SupplierReferralsOut(BaseModel):
    supplier_id: uuid.UUID
    metrics: NetworkMetricsOut
    depth: int
    tree: list[ReferralNode]
    more: int = Field(default=0, description="Referrals left out past the width limit")


class ComputeSummary(BaseModel):
    suppliers: int = Field(description="Suppliers in the network")
    edges: int = Field(description="Referral edges (one per referrer and referred business)")
    network_edges: int = Field(description="Converted supplier-to-supplier edges, simple graph")
    super_connectors: int
    written: int = Field(
        description="Metrics rows inserted, updated or removed (0 when nothing changed)"
    )
    seconds: float
