"""Building the interventions side of a process from settings: the playbooks, the channel
adapters, and the worker that uses them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from wedsync_success.config import Settings
from wedsync_success.db import Database
from wedsync_success.events.bus import Transport
from wedsync_success.events.dispatcher import Dispatcher
from wedsync_success.health.config import HealthConfig
from wedsync_success.interventions.channels.base import ChannelAdapter
from wedsync_success.interventions.channels.email import SmtpEmailAdapter
from wedsync_success.interventions.channels.sms import create_sms_adapter_from_url
from wedsync_success.interventions.channels.smtp_config import smtp_config_from_url
from wedsync_success.interventions.channels.templates import EmailTemplates
from wedsync_success.interventions.channels.webhook import WebhookAdapter
from wedsync_success.interventions.enrolment import consumed_event_types, on_success_events
from wedsync_success.interventions.links import TrackingLinks, tracking_links
from wedsync_success.interventions.playbooks import PlaybookFile, load_playbooks
from wedsync_success.interventions.steps import StepEnv
from wedsync_success.interventions.validation import check_playbooks
from wedsync_success.interventions.worker import InterventionWorker
from wedsync_success.kit.clock import Clock
from wedsync_success.kit.errors import ConfigError
from wedsync_success.milestones.definitions import MilestoneCatalog

CONSUMER = "interventions"


def load_checked_playbooks(
    settings: Settings, milestones: MilestoneCatalog, templates: EmailTemplates
) -> PlaybookFile:
    """The playbooks file, checked against the milestones and email templates it names."""
    catalog = load_playbooks(settings.playbooks_config)
    problems = check_playbooks(
        catalog, milestone_keys={m.key for m in milestones.milestones}, templates=templates
    )
    if problems:
        raise ConfigError(f"{settings.playbooks_config} does not fit the system", details=problems)
    return catalog


def build_adapters(
    settings: Settings, catalog: PlaybookFile, clock: Clock
) -> dict[str, ChannelAdapter]:
    """One adapter per configured channel (``email``, ``sms``, ``webhook:<target>``)."""
    adapters: dict[str, ChannelAdapter] = {}
    if settings.smtp_url:
        adapters["email"] = SmtpEmailAdapter(
            smtp_config_from_url(settings.smtp_url),
            settings.mail_from,
            lookup_url=settings.smtp_lookup_url,
            clock=clock,
        )
    if settings.sms_url:
        if not settings.sms_from:
            raise ConfigError(
                "WEDSYNC_SMS_FROM is not set",
                details=[{"field": "WEDSYNC_SMS_FROM", "reason": "required with WEDSYNC_SMS_URL"}],
            )
        adapters["sms"] = create_sms_adapter_from_url(
            settings.sms_url, from_number=settings.sms_from
        )
    for name, target in catalog.webhooks.items():
        secret = os.environ.get(target.secret_env)
        if not secret:
            raise ConfigError(
                f"Webhook target {name!r} needs its secret in {target.secret_env}",
                details=[{"field": target.secret_env, "reason": "not set"}],
            )
        adapters[f"webhook:{name}"] = WebhookAdapter(
            url=target.url,
            secret=secret,
            timeout=10.0,
            allow_private=settings.outbound_allow_private,
            field=f"webhooks.{name}.url",
            clock=clock,
        )
    return adapters


@dataclass
class Interventions:
    """The playbooks and, once built, the worker of one process."""

    catalog: PlaybookFile
    templates: EmailTemplates
    settings: Settings
    db: Database
    health: HealthConfig
    milestones: MilestoneCatalog
    dispatcher: Dispatcher
    clock: Clock
    _worker: InterventionWorker | None = None

    def subscribe(self, transport: Transport) -> None:
        """Enrol from success events, in the dispatcher's transaction (when any enabled
        playbook listens to one)."""
        event_types = consumed_event_types(self.catalog)
        if event_types:
            transport.subscribe_batch(
                CONSUMER, partial(on_success_events, catalog=self.catalog), event_types
            )

    def links(self) -> TrackingLinks:
        return tracking_links(self.settings)

    def worker(self, *, name: str | None = None) -> InterventionWorker:
        """This process's worker (built on first use: it needs the secret key that signs
        tracking and unsubscribe links)."""
        if self._worker is None:
            env = StepEnv(
                catalog=self.catalog,
                health=self.health,
                milestones=self.milestones,
                render_email=self.templates.render,
                links=self.links(),
                product_url=self.settings.product_url,
            )
            self._worker = InterventionWorker(
                db=self.db,
                env=env,
                adapters=build_adapters(self.settings, self.catalog, self.clock),
                clock=self.clock,
                after_commit=self.dispatcher.notify,
                name=name,
                lease=timedelta(seconds=self.settings.worker_lease_seconds),
            )
            self.dispatcher.after_delivery(self._worker.notify)
        return self._worker

    def wake_worker(self) -> None:
        """Work due steps now, if this process runs a worker."""
        if self._worker is not None:
            self._worker.notify()
