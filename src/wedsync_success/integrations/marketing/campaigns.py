"""Predictive campaign triggers: the validated campaigns file, and the consumer that fires
a campaign when a supplier's churn risk rises or it enters a segment.

A campaign fires at most once per supplier per cooldown (``campaign_firings``, one atomic
upsert), starts in the marketing tool (a ``track`` call named in the file, or a webhook
POST with an idempotency key), and is recorded as a ``campaign.triggered`` success event.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.events.outbox import enqueue
from wedsync_success.events.types import NewEvent, SuccessEvent, SuccessEventType
from wedsync_success.integrations.marketing import repository, segment
from wedsync_success.integrations.marketing.models import CAMPAIGN_PREFIX, COLLECTOR
from wedsync_success.integrations.marketing.service import MarketingPolicy, message_row, user_id
from wedsync_success.kit.config_files import load_yaml_model
from wedsync_success.kit.errors import ConfigError
from wedsync_success.kit.ssrf import UrlRefused, check_configured_url
from wedsync_success.kit.standard_webhooks import webhook_signer
from wedsync_success.segments.service import SEGMENT_KEY
from wedsync_success.suppliers import repository as suppliers_repository

CONSUMER = "campaigns"
"""The bus consumer's name: it keys its receipts, so it never changes."""
CONSUMED_TYPES = (
    SuccessEventType.RISK_LEVEL_CHANGED.value,
    SuccessEventType.SEGMENT_ENTERED.value,
)
BANDS = ("healthy", "watch", "at_risk", "critical")
"""Risk levels from best to worst (``onboarding`` is no band: it neither rises nor falls)."""
Band = Literal["healthy", "watch", "at_risk", "critical"]


def _plain_text(value: str) -> str:
    """Printable text a JSON body and a database column can both carry."""
    if not value.isprintable():
        raise ValueError("must be printable text (no control characters)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


PlainText = Annotated[str, AfterValidator(_plain_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookAction(_Strict):
    url: str = Field(
        max_length=2000,
        pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?(\?[^\s#]*)?$",
        description="http(s), no credentials in it",
    )
    secret_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z][A-Z0-9_]{0,99}$",
        description="the environment variable holding a whsec_… secret: POSTs are then "
        "signed the Standard Webhooks way",
    )


class Action(_Strict):
    """Exactly one of: a ``track`` call of this name, or a webhook."""

    track: PlainText | None = Field(default=None, min_length=1, max_length=200)
    webhook: WebhookAction | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        if (self.track is None) == (self.webhook is None):
            raise ValueError("give exactly one of `track` (an event name) or `webhook`")
        return self


class _Campaign(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    description: PlainText = Field(default="", max_length=500)
    cooldown_days: float = Field(gt=0, le=3650, allow_inf_nan=False)
    action: Action

    @property
    def cooldown(self) -> timedelta:
        return timedelta(days=self.cooldown_days)


class RiskRise(_Campaign):
    """Fires when ``supplier.risk_level_changed`` moves a supplier to a worse band (to
    ``min_level`` or worse, when given)."""

    when: Literal["risk_rise"]
    min_level: Band | None = None

    def matches(self, event: SuccessEvent) -> bool:
        if event.event_type != SuccessEventType.RISK_LEVEL_CHANGED:
            return False
        new, old = event.payload.get("risk_level"), event.payload.get("previous_risk_level")
        if new not in BANDS or old not in BANDS or BANDS.index(new) <= BANDS.index(old):
            return False
        return self.min_level is None or BANDS.index(new) >= BANDS.index(self.min_level)


class SegmentEntered(_Campaign):
    """Fires when a supplier enters the segment ``segment`` (``segment.entered``)."""

    when: Literal["segment_entered"]
    segment: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")

    def matches(self, event: SuccessEvent) -> bool:
        return (
            event.event_type == SuccessEventType.SEGMENT_ENTERED
            and event.payload.get(SEGMENT_KEY) == self.segment
        )


Campaign = Annotated[RiskRise | SegmentEntered, Field(discriminator="when")]


class CampaignFile(_Strict):
    version: Literal[1]
    campaigns: list[Campaign] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _unique_keys(self) -> CampaignFile:
        seen: set[str] = set()
        for campaign in self.campaigns:
            if campaign.key in seen:
                raise ValueError(f"campaign key {campaign.key!r} is used twice")
            seen.add(campaign.key)
        return self


@dataclass(frozen=True)
class WebhookTarget:
    """Where a webhook campaign POSTs, the secret (if any) that signs it, and the field of
    the campaigns file its URL came from (errors name it)."""

    url: str
    secret: str | None
    field: str


@dataclass(frozen=True)
class Campaigns:
    """The campaigns file with its webhook secrets read from the environment."""

    file: CampaignFile
    targets: Mapping[str, WebhookTarget]

    def active(self, policy: MarketingPolicy) -> list[RiskRise | SegmentEntered]:
        """Webhook campaigns, and ``track`` ones when a collector is configured."""
        return [c for c in self.file.campaigns if c.action.webhook or policy.enabled]


def load_campaigns(
    path: Path, environ: Mapping[str, str] | None = None, *, allow_private: bool
) -> Campaigns:
    """Read and validate the campaigns file; a webhook's ``secret_env`` must name a set
    variable holding a usable secret, and its URL must pass the SSRF rules that need no
    DNS unless ``allow_private`` (``WEDSYNC_OUTBOUND_ALLOW_PRIVATE``); errors name the
    field."""
    file = load_yaml_model(path, CampaignFile)
    env = os.environ if environ is None else environ
    targets: dict[str, WebhookTarget] = {}
    for i, campaign in enumerate(file.campaigns):
        hook = campaign.action.webhook
        if hook is None:
            continue
        url_field = f"campaigns.{i}.action.webhook.url"
        try:
            check_configured_url(hook.url, allow_private=allow_private, field=url_field)
        except UrlRefused as exc:
            raise ConfigError(f"{path}: {exc.message}", details=exc.details) from None
        secret = None
        if hook.secret_env is not None:
            field = f"campaigns.{i}.action.webhook.secret_env"
            secret = env.get(hook.secret_env)
            if not secret:
                reason = f"environment variable {hook.secret_env} is not set"
                raise ConfigError(f"{path}: {reason}", details=[{"field": field, "reason": reason}])
            try:
                webhook_signer(secret)
            except ConfigError as exc:
                raise ConfigError(
                    f"{path}: {exc.message}",
                    details=[{"field": field, "reason": exc.message}],
                ) from exc
        targets[campaign.key] = WebhookTarget(url=hook.url, secret=secret, field=url_field)
    return Campaigns(file=file, targets=targets)


def campaign_message_id(key: str, trigger_event_id: uuid.UUID) -> str:
    return f"wedsync-campaign-{key}-{trigger_event_id}"


async def fire_campaigns(
    *,
    session: AsyncSession,
    events: Sequence[SuccessEvent],
    campaigns: Campaigns,
    policy: MarketingPolicy,
    now: datetime,
) -> int:
    """Fire every active campaign one of ``events`` triggers for a supplier out of its
    cooldown: queue its track call or webhook, emit ``campaign.triggered``. Returns how
    many firings there were."""
    rows: list[dict[str, Any]] = []
    emitted: list[NewEvent] = []
    for campaign in campaigns.active(policy):
        triggers: dict[uuid.UUID, SuccessEvent] = {}
        for event in events:
            if event.supplier_id is not None and campaign.matches(event):
                triggers.setdefault(event.supplier_id, event)
        if not triggers:
            continue
        fired = await repository.fire(
            session,
            campaign_key=campaign.key,
            triggers={s: e.event_id for s, e in triggers.items()},
            cooldown=campaign.cooldown,
            now=now,
        )
        suppliers = await suppliers_repository.by_ids(session, fired)
        for supplier_id in sorted(fired):
            event = triggers[supplier_id]
            rows.append(
                _start(campaign, event, user_id(supplier_id, suppliers.get(supplier_id)), now)
            )
            emitted.append(
                NewEvent(
                    event_type=SuccessEventType.CAMPAIGN_TRIGGERED,
                    supplier_id=supplier_id,
                    occurred_at=now,
                    payload={
                        "campaign": campaign.key,
                        "trigger": campaign.when,
                        "trigger_event_id": str(event.event_id),
                        "action": "track" if campaign.action.track else "webhook",
                    },
                )
            )
    await repository.add_messages(session, rows)
    await enqueue(session=session, events=emitted, now=now)
    return len(emitted)


def _start(
    campaign: RiskRise | SegmentEntered, event: SuccessEvent, user: str, now: datetime
) -> dict[str, Any]:
    """The message that starts ``campaign`` for the supplier of ``event``."""
    message_id = campaign_message_id(campaign.key, event.event_id)
    assert event.supplier_id is not None
    if campaign.action.track is not None:
        message = segment.track(
            message_id=message_id,
            user_id=user,
            event=campaign.action.track,
            properties={
                **event.payload,
                "campaign": campaign.key,
                "trigger": campaign.when,
                "trigger_event_id": str(event.event_id),
                "trigger_event_type": event.event_type,
            },
            timestamp=now,
        )
        return message_row(
            message=message,
            destination=COLLECTOR,
            kind="track",
            supplier_id=event.supplier_id,
            now=now,
        )
    body = {
        "type": SuccessEventType.CAMPAIGN_TRIGGERED.value,
        "messageId": message_id,
        "idempotency_key": message_id,
        "campaign": campaign.key,
        "trigger": campaign.when,
        "user_id": user,
        "supplier_id": str(event.supplier_id),
        "fired_at": now.isoformat(),
        "event": event.to_json(),
    }
    return message_row(
        message=body,
        destination=CAMPAIGN_PREFIX + campaign.key,
        kind="webhook",
        supplier_id=event.supplier_id,
        now=now,
    )
