"""The API's OpenAPI document, and its interactive docs served from the app itself.

Write routes read their JSON body themselves, after authentication (see ``web/body.py``),
so FastAPI does not see a body parameter; :func:`json_body` declares the request schema from
the pydantic model instead, and :func:`install_openapi` moves the model's definitions into
``components/schemas``. :func:`error_responses` documents the error shape per status.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, TypeAdapter

SWAGGER_UI = "/static/vendor/swagger-ui"

_REF_TEMPLATE = "#/components/schemas/{model}"
_BODY_DEFINITIONS: dict[str, Any] = {}
"""Schemas referenced by :func:`json_body` request bodies, added to the document's components."""


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. validation_error")
    message: str = Field(description="What went wrong, in plain words")
    details: Any = Field(
        default=None,
        description='Usually a list of {"field", "reason"} items naming what was rejected',
    )


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
_ERRORS: dict[int, dict[str, Any]] = {
    401: {
        "description": "No API key, or not a live one",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    403: {"description": "The API key lacks the scope this route needs"},
    404: {"description": "The record does not exist"},
    413: {"description": "The body (bytes received, or items in the batch) is over the limit"},
    415: {"description": "The body is not sent as application/json"},
    422: {"description": "A parameter or the body is invalid; details name each field"},
    429: {"description": "Too many requests", "headers": _RETRY_AFTER},
    503: {"description": "Overloaded or the database is unavailable", "headers": _RETRY_AFTER},
}

READ = (401, 403, 422, 429)
"""What any authenticated route with parameters can answer besides success."""
WRITE = (*READ, 413, 415, 503)
"""What a route that reads a JSON body can answer besides success."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the error shape."""
    return {status: {**_ERRORS[status], "model": ErrorBody} for status in sorted(set(statuses))}


def json_body(schema: Any, *, description: str, example: Any = None) -> dict[str, Any]:
    """``openapi_extra=`` declaring a required JSON request body of type ``schema``."""
    generated = TypeAdapter(schema).json_schema(ref_template=_REF_TEMPLATE)
    _BODY_DEFINITIONS.update(generated.pop("$defs", {}))
    if isinstance(schema, type) and issubclass(schema, BaseModel):  # named, for tools
        _BODY_DEFINITIONS[schema.__name__] = generated
        generated = {"$ref": _REF_TEMPLATE.format(model=schema.__name__)}
    content: dict[str, Any] = {"schema": generated}
    if example is not None:
        content["example"] = example
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": content},
        }
    }


def install_openapi(app: FastAPI) -> None:
    """Complete the generated document, and serve Swagger UI from the app's own assets."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in _BODY_DEFINITIONS.items():
                schemas.setdefault(name, definition)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    page = _docs_page(title=app.title, openapi_url=app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)


def _docs_page(*, title: str, openapi_url: str) -> str:
    """Swagger UI from the vendored assets; ``static/docs.js`` starts it (no inline script)."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} - docs</title>
<link rel="icon" type="image/png" href="{SWAGGER_UI}/favicon-32x32.png">
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
</head>
<body data-openapi-url="{html.escape(openapi_url)}">
<div id="swagger-ui"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""
