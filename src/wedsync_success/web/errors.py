"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from wedsync_success.kit import errors
from wedsync_success.kit.batch import plain_reason
from wedsync_success.kit.limits import safe_text

log = structlog.get_logger(__name__)

STATUS_BY_CODE = {
    errors.ValidationFailed.code: 422,
    errors.NotFound.code: 404,
    errors.PayloadTooLarge.code: 413,
    errors.UnsupportedMediaType.code: 415,
    errors.Unauthorized.code: 401,
    errors.Forbidden.code: 403,
    errors.ConfigError.code: 500,
    errors.RateLimited.code: 429,
    errors.ServiceUnavailable.code: 503,
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers or None,
    )


async def _wedsync_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.WedSyncError)
    status = STATUS_BY_CODE.get(exc.code, 500)
    return error_response(status, exc.code, exc.message, exc.details, headers=exc.headers)


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "field": safe_text(
                ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path", "[key]"))
            ),
            "in": str(err["loc"][0]) if err["loc"] else "",
            "reason": safe_text(plain_reason(err)),
        }
        for err in exc.errors()
    ]
    fields = ", ".join(d["field"] for d in details)
    return error_response(422, "validation_error", f"Invalid request: {fields}", details)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this request's path.

    Starlette's 405 names only the methods of the first route matching the path, but one
    path is often served by several routes (``GET`` and ``POST /api/v1/suppliers``), so each
    method is tried against every route. Mounts (static files) answer any method at their
    prefix and so say nothing; a 405 from under one means files, served by GET and HEAD.
    """
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    return allowed or ["GET", "HEAD"]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        headers["Allow"] = allow
        return error_response(
            405, code, f"{request.method} is not allowed here; use {allow}", headers=headers
        )
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


async def _pool_exhausted(_: Request, exc: Exception) -> JSONResponse:
    """A read that found no free database connection in time: overloaded, not broken."""
    log.warning("database_pool_exhausted", error=repr(exc))
    response = error_response(
        503, errors.ServiceUnavailable.code, "The service is overloaded; try again shortly"
    )
    response.headers["Retry-After"] = "1"
    return response


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error=repr(exc))
    return error_response(500, "internal_error", "Something went wrong on our side")


ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]

JSON_HANDLERS: dict[type[Exception], ErrorHandler] = {
    errors.WedSyncError: _wedsync_error,
    RequestValidationError: _request_validation,
    StarletteHTTPException: _http_error,
    PoolTimeout: _pool_exhausted,
    Exception: _unexpected,
}
"""How each kind of failure is answered in the API's one JSON error shape."""


def install_error_handlers(
    app: FastAPI, *, wrap: Callable[[ErrorHandler], ErrorHandler] | None = None
) -> None:
    """Answer every failure with :data:`JSON_HANDLERS`, each first passed through ``wrap``
    (the dashboard's, which answers a browser's page request with a styled page instead)."""
    for kind, handler in JSON_HANDLERS.items():
        app.add_exception_handler(kind, wrap(handler) if wrap else handler)
