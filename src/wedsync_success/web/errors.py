"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from wedsync_success.kit import errors

log = structlog.get_logger(__name__)

STATUS_BY_CODE = {
    errors.ValidationFailed.code: 422,
    errors.NotFound.code: 404,
    errors.PayloadTooLarge.code: 413,
    errors.Unauthorized.code: 401,
    errors.Forbidden.code: 403,
    errors.ConfigError.code: 500,
    errors.ServiceUnavailable.code: 503,
}


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
    )


async def _wedsync_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.WedSyncError)
    response = error_response(STATUS_BY_CODE.get(exc.code, 500), exc.code, exc.message, exc.details)
    if isinstance(exc, errors.ServiceUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path")),
            "in": str(err["loc"][0]) if err["loc"] else "",
            "reason": err["msg"],
        }
        for err in exc.errors()
    ]
    fields = ", ".join(d["field"] for d in details)
    return error_response(422, "validation_error", f"Invalid request: {fields}", details)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.WedSyncError, _wedsync_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _unexpected)
