"""Product activity: event ingestion, validation, idempotency and incremental rollups."""
