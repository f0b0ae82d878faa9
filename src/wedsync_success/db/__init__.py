"""Database plumbing: declarative base, column types, engine and session factory."""

from wedsync_success.db.base import Base
from wedsync_success.db.engine import Database, create_database
from wedsync_success.db.types import JSONType, UTCDateTime, big_id

__all__ = ["Base", "Database", "JSONType", "UTCDateTime", "big_id", "create_database"]
