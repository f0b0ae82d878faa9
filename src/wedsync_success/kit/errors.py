"""The whole exception tree of the application, in one place.

Every error carries a stable ``code``; the web layer maps codes to HTTP statuses and renders
``{"error": {"code", "message", "details"}}``. Domain code raises these and never knows HTTP.
"""

from __future__ import annotations

from typing import Any


class WedSyncError(Exception):
    """Base of every error the application raises on purpose."""

    code = "internal_error"

    headers: dict[str, str]
    """Response headers the answer must carry (``Retry-After`` of a 429 or 503)."""

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = {}


class ConfigError(WedSyncError):
    """A configuration file is missing or does not match its schema."""

    code = "config_error"


class ValidationFailed(WedSyncError):
    """Input was rejected; ``details`` lists ``{"field", "reason"}`` items."""

    code = "validation_error"


class NotFound(WedSyncError):
    """The requested record does not exist."""

    code = "not_found"


class PayloadTooLarge(WedSyncError):
    """A batch is larger than the configured maximum."""

    code = "payload_too_large"


class UnsupportedMediaType(WedSyncError):
    """A request body is not in a media type the route reads (the API reads JSON)."""

    code = "unsupported_media_type"


class Unauthorized(WedSyncError):
    """No valid credentials were presented."""

    code = "unauthorized"


class Forbidden(WedSyncError):
    """Credentials are valid but lack the needed scope."""

    code = "forbidden"


class RateLimited(WedSyncError):
    """Too many requests (or failed sign-ins) in a window; try again after ``retry_after`` s."""

    code = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after), **(headers or {})}


class ServiceUnavailable(WedSyncError):
    """The work could not be done now (the database stayed contended); try again later."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after_seconds: int = 1, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after_seconds = retry_after_seconds
        self.headers = {"Retry-After": str(retry_after_seconds)}
