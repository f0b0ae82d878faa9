"""Run Alembic migrations programmatically against a database URL."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine.url import make_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


_PARTITION = re.compile(r"activity_events_(default|y\d{4}m\d{2})(_.*)?")
"""A partition of ``activity_events`` (PostgreSQL) or one of its own indexes."""


def include_name(name: str | None, kind: str, parents: Mapping[Any, Any]) -> bool:
    """Autogenerate's filter: the models describe the partitioned ``activity_events``, not
    its monthly partitions, which the application creates as events arrive."""
    table = parents.get("table_name") if kind != "table" else name
    return not (table and _PARTITION.fullmatch(str(table)))


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (Alembic runs synchronously)."""
    parsed = make_url(url)
    return parsed.set(drivername=_SYNC_DRIVERS[parsed.get_backend_name()]).render_as_string(
        hide_password=False
    )


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option(
        "file_template",
        "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s",
    )
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> None:
    """Print the revision the database at ``url`` is at."""
    command.current(alembic_config(url), verbose=False)
