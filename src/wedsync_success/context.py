"""The application's long-lived parts, built once per process from settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wedsync_success.access.ratelimit import ApiRateLimiter
from wedsync_success.config import Settings
from wedsync_success.db import Database, create_database
from wedsync_success.events.bus import Transport, create_transport
from wedsync_success.events.consumers import register_builtin_consumers
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.events.live import LiveHub
from wedsync_success.health.config import (
    HealthConfig,
    check_onboarding_milestones,
    load_health_config,
)
from wedsync_success.health.peers import PeerGroups, peer_snapshots
from wedsync_success.integrations.marketing.runtime import Marketing
from wedsync_success.integrations.webhooks.runtime import Webhooks
from wedsync_success.interventions.channels.templates import EmailTemplates
from wedsync_success.interventions.runtime import Interventions, load_checked_playbooks
from wedsync_success.kit.clock import Clock, utc_now
from wedsync_success.kit.logging import configure_logging
from wedsync_success.kit.snapshots import Snapshot
from wedsync_success.milestones.definitions import MilestoneCatalog, load_milestone_catalog
from wedsync_success.reports.business_cache import BusinessPacks, PackKey
from wedsync_success.reports.costs import ProgrammeCosts, load_programme_costs
from wedsync_success.reports.snapshots import OverviewSnapshots
from wedsync_success.segments.definitions import SegmentCatalog, load_segment_catalog
from wedsync_success.surveys.automatic import subscribe as subscribe_automatic_csat

if TYPE_CHECKING:
    from wedsync_success.reports.business import BusinessPack


@dataclass(frozen=True)
class AppContext:
    """Settings, validated domain configuration, database and event hub of one process."""

    settings: Settings
    db: Database
    health: HealthConfig
    milestones: MilestoneCatalog
    transport: Transport
    dispatcher: Dispatcher
    live: LiveHub
    overviews: OverviewSnapshots
    business: BusinessPacks
    clock: Clock
    rate_limits: ApiRateLimiter
    interventions: Interventions
    peers: Snapshot[PeerGroups]
    """Health distributions per vendor type and plan, as fresh as the overview."""
    programme_costs: ProgrammeCosts
    """The ROI report's cost model (``WEDSYNC_PROGRAMME_COSTS_CONFIG``)."""
    webhooks: Webhooks
    marketing: Marketing
    """Segment-spec sync of success events, and campaign triggers (``integrations.marketing``)."""
    segments: SegmentCatalog
    """The segments file's segments (``WEDSYNC_SEGMENTS_CONFIG``); the API's are stored."""

    async def close(self) -> None:
        await self.webhooks.close()
        await self.marketing.close()
        await self.transport.close()
        await self.db.dispose()


def build_context(settings: Settings, *, clock: Clock = utc_now) -> AppContext:
    """Load and validate configuration files, open the database, wire the event hub."""
    configure_logging(json=settings.log_json, level=settings.log_level)
    health = load_health_config(settings.health_config)
    milestones = load_milestone_catalog(settings.milestones_config)
    check_onboarding_milestones(
        health, {m.key for m in milestones.milestones}, path=settings.health_config
    )
    segments = load_segment_catalog(
        settings.segments_config, milestone_keys={m.key for m in milestones.milestones}
    )
    programme_costs = load_programme_costs(settings.programme_costs_config, rates=settings.rates)
    db = create_database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    transport = create_transport(settings)
    register_builtin_consumers(transport)
    live = LiveHub()
    transport.fan_out(live.publish)
    dispatcher = Dispatcher(db=db, transport=transport, clock=clock)
    templates = EmailTemplates(settings.email_templates)
    interventions = Interventions(
        catalog=load_checked_playbooks(settings, milestones, templates),
        templates=templates,
        settings=settings,
        db=db,
        health=health,
        milestones=milestones,
        dispatcher=dispatcher,
        clock=clock,
    )
    interventions.subscribe(transport)
    subscribe_automatic_csat(transport, settings)
    webhooks = Webhooks(settings=settings, db=db, clock=clock)
    webhooks.subscribe(transport)
    dispatcher.after_delivery(webhooks.wake_worker)
    marketing = Marketing(settings=settings, db=db, clock=clock)
    marketing.subscribe(transport)
    dispatcher.after_delivery(marketing.wake_worker)
    return AppContext(
        settings=settings,
        db=db,
        health=health,
        milestones=milestones,
        transport=transport,
        dispatcher=dispatcher,
        live=live,
        overviews=OverviewSnapshots(
            db, max_age_seconds=settings.overview_max_age_seconds, rates=settings.rates
        ),
        business=BusinessPacks(
            _business_gathering(settings, db, interventions, programme_costs, clock),
            max_age_seconds=settings.business_max_age_seconds,
        ),
        clock=clock,
        rate_limits=ApiRateLimiter(
            limit=settings.api_rate_limit_requests,
            window_seconds=settings.api_rate_limit_window_seconds,
            db=db,
            sync_seconds=settings.api_rate_limit_sync_seconds,
        ),
        interventions=interventions,
        peers=peer_snapshots(db, max_age_seconds=settings.overview_max_age_seconds),
        programme_costs=programme_costs,
        webhooks=webhooks,
        marketing=marketing,
        segments=segments,
    )


def _business_gathering(
    settings: Settings,
    db: Database,
    interventions: Interventions,
    costs: ProgrammeCosts,
    clock: Clock,
) -> Callable[[PackKey], Awaitable[BusinessPack]]:
    """How the Business page's reports are gathered for a key, with this context's rates,
    margin, playbooks' holdouts and programme costs."""

    async def gather(key: PackKey) -> BusinessPack:
        from wedsync_success.reports.business import business_pack
        from wedsync_success.reports.roi import holdouts_of

        async with db.sessions() as session:
            return await business_pack(
                session=session,
                month=key.month,
                months=key.months,
                today=clock().date(),
                rates=settings.rates,
                gross_margin=settings.gross_margin,
                holdouts=holdouts_of(interventions.catalog),
                costs=costs,
                segment=key.segment,
                attribution_window_days=settings.attribution_window_days,
            )

    return gather
