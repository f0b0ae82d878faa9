"""The command line's tests run against the test database of each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from wedsync_success.config import get_settings
from wedsync_success.db.migrate import sync_url
from wedsync_success.db.registry import metadata


@pytest.fixture
def cli_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI at the test database, emptied."""
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    monkeypatch.setenv("WEDSYNC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()
