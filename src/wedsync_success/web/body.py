"""Reading a JSON request body: media type checked, size counted as it arrives, then parsed.

Routes that take a body read it themselves through :func:`read_json`, in the route body, so
their authentication dependency has already run: an anonymous client never gets a body read
(FastAPI would parse a declared body parameter before any dependency). The limit counts the
bytes actually received, so a chunked body or one whose ``Content-Length`` lies is cut off at
the limit just like an honest one.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from wedsync_success.kit import limits
from wedsync_success.kit.batch import field_errors
from wedsync_success.kit.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

JSON_MEDIA_TYPE = "application/json"
ModelT = TypeVar("ModelT", bound=BaseModel)


def check_json_media_type(content_type: str | None) -> None:
    """Accept ``application/json``, optionally with ``charset=utf-8``; JSON is UTF-8 only."""
    media, _, params = (content_type or "").partition(";")
    if media.strip().lower() != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"Send the body as {JSON_MEDIA_TYPE}"
            + (f", not {media.strip()}" if media.strip() else " (no Content-Type was given)"),
            details=[{"field": "Content-Type", "reason": f"must be {JSON_MEDIA_TYPE}"}],
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise UnsupportedMediaType(
                f"JSON bodies are UTF-8; charset {value.strip()} is not read",
                details=[{"field": "Content-Type", "reason": "charset must be utf-8"}],
            )


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes",
        details=[{"field": "body", "reason": f"more than {limit} bytes"}],
    )


async def read_limited(request: Request, *, limit: int) -> bytes:
    """The body's bytes, refusing (413) as soon as more than ``limit`` have arrived."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse a JSON document; every body the API reads goes through here.

    :func:`wedsync_success.kit.limits.parse_json` fails only with ``ValueError`` (deep nesting
    and huge integers included), and reads NaN/Infinity so the item holding one is refused alone.
    """
    try:
        return limits.parse_json(raw)
    except ValueError as exc:
        raise ValidationFailed(
            "The request body is not valid JSON",
            details=[{"field": "body", "reason": str(exc)}],
        ) from exc


def validate_body(model: type[ModelT], payload: Any) -> ModelT:
    """``payload`` as ``model``, or a 422 naming each offending field of the body."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        details = [
            {**detail, "field": detail["field"] or "body"} for detail in field_errors(exc.errors())
        ]
        fields = ", ".join(d["field"] for d in details)
        raise ValidationFailed(f"Invalid request body: {fields}", details=details) from None


async def read_json(request: Request, *, limit: int) -> Any:
    """Check the media type (415), read at most ``limit`` bytes (413), parse the JSON (422)."""
    check_json_media_type(request.headers.get("content-type"))
    return parse_json(await read_limited(request, limit=limit))


def batch_items(payload: Any, *, key: str, bare_list: bool = False) -> list[Any]:
    """The items of a batch body ``{key: [...]}`` (or a bare ``[...]`` when allowed).

    Only the container is checked here; each item is validated on its own later, so a bad
    item costs only itself.
    """
    if bare_list and isinstance(payload, list):
        return payload
    details: list[dict[str, str]] = []
    if isinstance(payload, dict):
        if not isinstance(payload.get(key), list):
            details.append({"field": key, "reason": "missing or not a list"})
        details.extend(
            {"field": str(k), "reason": "unknown field"} for k in sorted(payload) if k != key
        )
        if not details:
            return list(payload[key])
    else:
        details.append({"field": key, "reason": "missing or not a list"})
    shape = f'{{"{key}": [...]}}' + (" or a JSON array" if bare_list else "")
    raise ValidationFailed(f"Send {shape}", details=details)
