"""All runtime settings in one place, read from the environment (prefix ``WEDSYNC_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULTS_DIR = Path(__file__).parent / "defaults"


class Settings(BaseSettings):
    """Process settings; domain tuning (weights, milestones) lives in the YAML files named here."""

    model_config = SettingsConfigDict(env_prefix="WEDSYNC_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/wedsync.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    event_bus_url: str = Field(
        default="memory://",
        description="Success-event transport: memory:// (in-process).",
    )
    health_config: Path = Field(
        default=DEFAULTS_DIR / "health.yaml",
        description="Health score weights, windows and risk bands.",
    )
    milestones_config: Path = Field(
        default=DEFAULTS_DIR / "milestones.yaml",
        description="Declarative milestone definitions.",
    )
    max_batch_size: int = Field(default=5000, ge=1, description="Largest POST /events batch.")
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads, counted as it arrives (chunked too).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs dashboard session cookies; unset, a random key per process "
        "(sessions then end when the process restarts).",
    )
    secure_cookies: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (production)."
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


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
