"""All runtime settings in one place, read from the environment (prefix ``WEDSYNC_``)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wedsync_success.kit.currency import (
    DEFAULT_RATES,
    DEFAULT_REPORTING_CURRENCY,
    Rates,
    check_rates,
)
from wedsync_success.kit.errors import ConfigError
from wedsync_success.surveys.kinds import SurveyChannel

DEFAULTS_DIR = Path(__file__).parent / "defaults"
MIN_SECRET_KEY_LENGTH = 32
BACKGROUND_CONNECTIONS = 4
"""Pooled connections kept for work outside the admission gates: the dispatcher, the live
fan-out, the dashboard's background refreshes, /readyz and /metrics."""


class Settings(BaseSettings):
    """Process settings; domain tuning (weights, milestones) lives in the YAML files named here."""

    model_config = SettingsConfigDict(
        env_prefix="WEDSYNC_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/wedsync.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    event_bus_url: str = Field(
        default="memory://",
        description="Success-event transport: memory:// (in-process, one process) or "
        "redis://host:6379/0 (Redis Streams: N API processes and M `wedsync-success worker` "
        "processes share it).",
    )
    event_bus_prefix: str = Field(
        default="wedsync:events",
        min_length=1,
        description="Redis bus: the prefix of its keys (streams PREFIX:0 … PREFIX:N-1).",
    )
    event_bus_shards: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Redis bus: how many streams events are spread over by supplier (a "
        "supplier's events always go to one, so its order is kept); at most this many "
        "workers share a consumer's work. Change it only with an empty backlog.",
    )
    event_bus_stream_maxlen: int = Field(
        default=100_000,
        ge=100,
        description="Redis bus: roughly how many events each stream keeps (XADD MAXLEN ~); "
        "older ones are trimmed, so keep it above the largest backlog a consumer may have.",
    )
    event_bus_claim_idle_seconds: float = Field(
        default=30,
        gt=0,
        description="Redis bus: how long a worker may stay silent before its streams and its "
        "unacknowledged events pass to another worker (XAUTOCLAIM).",
    )
    health_config: Path = Field(
        default=DEFAULTS_DIR / "health.yaml",
        description="Health score weights, windows and risk bands.",
    )
    milestones_config: Path = Field(
        default=DEFAULTS_DIR / "milestones.yaml",
        description="Declarative milestone definitions.",
    )
    playbooks_config: Path = Field(
        default=DEFAULTS_DIR / "playbooks.yaml",
        description="Intervention playbooks, frequency cap, quiet hours and webhook targets.",
    )
    segments_config: Path = Field(
        default=DEFAULTS_DIR / "segments.yaml",
        description="Behavioural segments (rules over suppliers, scores, milestones, activity); "
        "more can be defined through the API.",
    )
    programme_costs_config: Path = Field(
        default=DEFAULTS_DIR / "programme_costs.yaml",
        description="The ROI report's costs: per message by channel, CSM hours per team task "
        "and their hourly rate, and the months of revenue a kept subscription counts for.",
    )
    email_templates: Path = Field(
        default=DEFAULTS_DIR / "email",
        description="Folder of the email templates (KEY.subject.txt, KEY.txt, KEY.html).",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Outgoing mail server: smtp://host:port (add ?starttls=1 to upgrade), "
        "smtps://user:pass@host:465. Unset: email steps are recorded as failed, not sent.",
    )
    smtp_lookup_url: str | None = Field(
        default=None,
        description="A Mailpit-compatible message search API of the mail relay, used to check "
        "after a crash whether a message already went (else it is re-sent under the same "
        "Message-ID, which mail stores collapse).",
    )
    mail_from: str = Field(
        default="WedSync Success <success@wedsync.example>",
        description="The From of intervention emails.",
    )
    sms_url: str | None = Field(
        default=None,
        description="Twilio-compatible SMS API with credentials, e.g. "
        "https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com. Unset: SMS steps are recorded as failed.",
    )
    sms_from: str | None = Field(default=None, description="The sender number (E.164) of SMS.")
    product_url: str = Field(
        default="https://app.wedsync.example",
        description="The suppliers' WedSync app, where the links of intervention emails lead.",
    )
    demo_pages: bool = Field(
        default=False,
        description="Serve /demo/supplier-app/{supplier_id}: a supplier's app with its in-app "
        "messages, without sign-in. For demos only (`wedsync-success demo` turns it on).",
    )
    run_worker: bool = Field(
        default=True,
        description="The API process also works due intervention steps and webhook "
        "deliveries (turn off when `wedsync-success worker` processes do it). With a Redis "
        "event bus the API never does: workers run them, with the consumers.",
    )
    worker_lease_seconds: float = Field(
        default=120,
        gt=0,
        description="How long a worker holds a claimed step; a worker that dies mid-step "
        "leaves it to be claimed again (and reconciled) once the lease runs out.",
    )
    worker_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often the intervention worker looks for due steps."
    )
    outbound_allow_private: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "WEDSYNC_OUTBOUND_ALLOW_PRIVATE", "WEDSYNC_WEBHOOKS_ALLOW_PRIVATE"
        ),
        description="Let outbound webhook endpoints, the marketing collector, campaign "
        "webhooks and the playbooks' webhook targets point at loopback, link-local, "
        "private or reserved addresses (SSRF protection off: for tests and closed networks "
        "only). WEDSYNC_WEBHOOKS_ALLOW_PRIVATE "
        "is its earlier name, still read.",
    )
    webhooks_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="How long one webhook delivery attempt may take."
    )
    webhooks_rotation_overlap_hours: float = Field(
        default=24,
        ge=0,
        description="After a signing secret is rotated, how long the old one keeps signing "
        "too (both signatures are sent), so receivers can switch without losing a message.",
    )
    webhooks_retry_window_hours: float = Field(
        default=72,
        gt=0,
        description="How long a webhook delivery is retried after it was first due.",
    )
    webhooks_disable_after_hours: float = Field(
        default=120,
        gt=0,
        description="An endpoint whose every attempt has failed for this long is disabled; "
        "events that arrive while it is disabled are held for replay.",
    )
    survey_nps_interval_days: int = Field(
        default=90, ge=0, le=3650, description="A supplier user is asked NPS at most this often."
    )
    survey_csat_interval_days: int = Field(
        default=14, ge=0, le=3650, description="A supplier user is asked CSAT at most this often."
    )
    survey_csat_after_ticket: bool = Field(
        default=True,
        description="Ask the user (else the primary contact) for a CSAT score when one of "
        "their support tickets closes (an event of the `support_resolved` role), once per ticket.",
    )
    survey_csat_after_intervention: bool = Field(
        default=False,
        description="Ask the primary contact for a CSAT score when a playbook run of the "
        "treatment arm ends complete or at its goal, once per run (off by default: every "
        "playbook's runs would ask, automated nudges too).",
    )
    survey_csat_channel: SurveyChannel = Field(
        default=SurveyChannel.EMAIL,
        description="How the CSATs asked automatically (after a ticket, after an "
        "intervention) are asked: email or in_app.",
    )
    survey_ticket_id_property: str = Field(
        default="ticket_id",
        min_length=1,
        max_length=64,
        description="The event property naming the ticket (the survey's reference; a ticket "
        "is asked about once ever).",
    )
    survey_ticket_recent_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description="A ticket closed longer ago than this when its event arrives (an import "
        "of history) asks nothing.",
    )
    referral_super_connector_top_share: float = Field(
        default=0.01,
        gt=0,
        le=1,
        description="A super-connector is among this share of the referral network with "
        "the highest PageRank (at least one supplier) ...",
    )
    referral_super_connector_min_converted: int = Field(
        default=3,
        ge=1,
        description="... and has at least this many converted referrals.",
    )
    max_batch_size: int = Field(default=5000, ge=1, description="Largest POST /events batch.")
    raw_event_retention_months: int | None = Field(
        default=None,
        ge=1,
        le=1200,
        description="Months of raw activity events `events prune` keeps (the current month "
        "and this many before it); rollups, scores and features are kept whatever it says. "
        "Unset: raw events are kept for ever.",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads, counted as it arrives (chunked too).",
    )
    ingest_concurrency: int = Field(
        default=2,
        ge=1,
        description="POST /events requests one process works on at once (from authentication "
        "to response); later ones wait in arrival order. Batches of common suppliers are "
        "written one after another anyway: more at once only interleave their parsing with the "
        "writer's work on the one event loop and slow it down.",
    )
    ingest_queue_timeout_seconds: float = Field(
        default=30,
        ge=0,
        description="How long a POST /events waits for its turn before it is answered 503 "
        "with Retry-After.",
    )
    ingest_queue_limit: int = Field(
        default=200,
        ge=0,
        description="Ingest requests (POST /events, /suppliers, /surveys/responses) one "
        "process keeps waiting for a turn; the next is answered 503 with Retry-After at once.",
    )
    request_concurrency: int = Field(
        default=24,
        ge=1,
        description="Other API and dashboard requests one process works on at once (live "
        "streams, /healthz, /readyz, /metrics and static files are not counted); later ones "
        "wait in arrival order. With the ingest places it must fit in the database pool.",
    )
    request_queue_limit: int = Field(
        default=2000,
        ge=0,
        description="Requests one process keeps waiting for a turn; the next is answered 503 "
        "with Retry-After at once.",
    )
    request_queue_timeout_seconds: float = Field(
        default=10,
        ge=0,
        description="How long a request waits for its turn before it is answered 503 with "
        "Retry-After.",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        description="Database connections each process keeps open.",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        description="Connections a process may open beyond the pool size at a peak. PostgreSQL "
        "must allow (pool size + overflow) x processes (its max_connections).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs dashboard session cookies and CSRF tokens; required to serve, at "
        f"least {MIN_SECRET_KEY_LENGTH} characters, the same in every API process "
        "(`wedsync-success demo` makes and keeps its own under var/).",
    )
    sealing_keys: list[SecretStr] | None = Field(
        default=None,
        description="Keys that seal webhook signing secrets at rest, as JSON: "
        'WEDSYNC_SEALING_KEYS=\'["new…", "old…"]\'. The first seals, every one opens, '
        f"each at least {MIN_SECRET_KEY_LENGTH} characters, the same list in every process. "
        "Unset: WEDSYNC_SECRET_KEY seals. To roll: put the new key first and the old after "
        "it, run `wedsync-success secrets rekey`, then drop the old one.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The address mail clients reach this app at (scheme, host, optional "
        "path prefix): open pixels, click redirects and unsubscribe links in emails start "
        "with it.",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only, and send HSTS (production).",
    )
    session_idle_minutes: int = Field(
        default=120, ge=1, description="A dashboard session ends after this long unused."
    )
    session_absolute_hours: int = Field(
        default=24, ge=1, description="A dashboard session ends this long after sign-in."
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins allowed per account and per client address in one "
        "window; the next attempt is answered 429.",
    )
    login_failure_window_seconds: int = Field(
        default=900, ge=1, description="The window failed sign-ins are counted over."
    )
    login_refusal_delay_seconds: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="A refused sign-in (wrong password or throttled) is answered after this "
        "pause: free for the server, it slows a client guessing passwords to one try a second.",
    )
    api_rate_limit_requests: int = Field(
        default=10_000,
        ge=0,
        description="Requests one API key may make per window (0: unlimited).",
    )
    api_rate_limit_window_seconds: int = Field(
        default=60, ge=1, description="The window API-key requests are counted over."
    )
    api_rate_limit_sync_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How often an API process adds the requests it counted to the shared "
        "count on PostgreSQL (also at a window's first request and near the limit); a key may "
        "pass its limit by what the other processes counted since (0: every request).",
    )
    api_key_cache_seconds: float = Field(
        default=5,
        ge=0,
        le=300,
        description="How long an API process trusts a key it has authenticated before reading "
        "it again: a key revoked by another process stops working within this time (0: read "
        "every request).",
    )
    business_max_age_seconds: float = Field(
        default=300,
        ge=0,
        description="How stale the Business page's reports may be (refreshed in the "
        "background; 0 gathers them on every visit).",
    )
    overview_max_age_seconds: float = Field(
        default=15,
        ge=0,
        description="How stale the dashboard overview may be (refreshed "
        "in the background; 0 computes it on every request).",
    )
    log_json: bool = Field(default=False, description="JSON logs (production) or console logs.")
    log_level: str = "INFO"
    dispatch_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often the outbox dispatcher polls for stragglers."
    )
    churn_registry: Path = Field(
        default=Path("var/models"),
        description="Folder of the churn model registry (one sub-folder per model version).",
    )
    reporting_currency: str = Field(
        default=DEFAULT_REPORTING_CURRENCY,
        description="The currency totals across currencies are given in (MRR at risk, the "
        "priority order's expected MRR lost).",
    )
    fx_rates: dict[str, float] | None = Field(
        default=None,
        description="Units of the reporting currency one unit of each other currency buys, "
        'as JSON: WEDSYNC_FX_RATES=\'{"EUR": 0.86, "USD": 0.79}\'. Unset: built-in rates to '
        "GBP for EUR, USD and AUD (required when the reporting currency is not GBP). An "
        "amount in a currency without a rate is shown as not converted, never as 0.",
    )
    gross_margin: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Gross margin of WedSync's subscription revenue (0-1], used by LTV = ARPA x "
        "gross margin / monthly logo churn; stated in every LTV output. Default 0.8, a typical "
        "SaaS margin: set the real one.",
    )
    attribution_window_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Success attribution: how many days before a conversion (upgrade, "
        "renewal, referral converted) a success event or intervention still earns credit.",
    )
    marketing_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$",
        description="A Segment-compatible collector (Segment, RudderStack, Customer.io, …): "
        "success events are sent to {URL}/v1/batch as track/identify calls. Unset: marketing "
        "sync is off and nothing is queued for it.",
    )
    marketing_write_key: SecretStr | None = Field(
        default=None, description="The collector's write key (HTTP basic auth user name)."
    )
    marketing_event_types: list[str] | None = Field(
        default=None,
        description="Success event types sent as track calls, as JSON "
        "(WEDSYNC_MARKETING_EVENT_TYPES='[\"supplier.milestone_achieved\"]'). Unset: every "
        "type but campaign.triggered (a campaign's own track call says it).",
    )
    marketing_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="How long one batch POST to the collector may take."
    )
    marketing_retry_window_hours: float = Field(
        default=24,
        gt=0,
        description="How long a marketing message is retried after it was first due; then it "
        "is failed with its last error.",
    )
    campaigns_config: Path = Field(
        default=DEFAULTS_DIR / "campaigns.yaml",
        description="Predictive campaign triggers: which risk rises and segment entries start "
        "which campaign (docs/marketing.md).",
    )

    @model_validator(mode="after")
    def _rates_are_usable(self) -> Settings:
        if self.fx_rates is None and self.reporting_currency != DEFAULT_REPORTING_CURRENCY:
            raise ValueError(
                f"WEDSYNC_FX_RATES must be set when WEDSYNC_REPORTING_CURRENCY is "
                f"{self.reporting_currency!r}: the built-in rates are to GBP"
            )
        problems = check_rates(self.reporting_currency, self.fx_rates or {})
        if problems:
            raise ValueError(
                "WEDSYNC_REPORTING_CURRENCY / WEDSYNC_FX_RATES: " + "; ".join(problems)
            )
        return self

    @model_validator(mode="after")
    def _gates_fit_the_pool(self) -> Settings:
        gated = self.ingest_concurrency + self.request_concurrency
        pool = self.database_pool_size + self.database_max_overflow
        if gated + BACKGROUND_CONNECTIONS > pool:
            raise ValueError(
                f"WEDSYNC_REQUEST_CONCURRENCY ({self.request_concurrency}) + "
                f"WEDSYNC_INGEST_CONCURRENCY ({self.ingest_concurrency}) + "
                f"{BACKGROUND_CONNECTIONS} for background work need "
                f"{gated + BACKGROUND_CONNECTIONS} database connections, more than "
                f"WEDSYNC_DATABASE_POOL_SIZE "
                f"({self.database_pool_size}) + WEDSYNC_DATABASE_MAX_OVERFLOW "
                f"({self.database_max_overflow}) = {pool}: requests let in would wait for a "
                "connection inside the pool. Lower the concurrency or raise the pool"
            )
        return self

    @property
    def rates(self) -> Rates:
        """The reporting currency and its conversion rates (see ``kit.currency``)."""
        if self.fx_rates is None:
            return DEFAULT_RATES
        return Rates(self.reporting_currency, dict(self.fx_rates))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def require_secret_key(settings: Settings) -> str:
    """The key that signs session cookies; without a strong one the app must not start.

    A per-process random key would end every session on restart and split sessions between
    workers, so there is no fallback: the demo makes its own (:func:`demo_secret_key`).
    """
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        problem = "is not set" if not key else f"is only {len(key)} characters"
        raise ConfigError(
            f"WEDSYNC_SECRET_KEY {problem}. Set it to a random string of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, the same for every API process, e.g. "
            "export WEDSYNC_SECRET_KEY=\"$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')\"",
            details=[
                {
                    "field": "WEDSYNC_SECRET_KEY",
                    "reason": f"at least {MIN_SECRET_KEY_LENGTH} characters required",
                }
            ],
        )
    return key


def demo_secret_key(path: Path) -> str:
    """The demo's own key: read from ``path``, or made once and kept there (owner-only)."""
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= MIN_SECRET_KEY_LENGTH:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n", encoding="utf-8")
    return key
