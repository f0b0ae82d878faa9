"""The OpenAPI document tells the truth about the routes, and /docs is served from the app."""

from __future__ import annotations

import re
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_SECRET_KEY
from wedsync_success.config import Settings
from wedsync_success.suppliers.repository import SORTS, SupplierSort
from wedsync_success.web.app import create_app


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app: FastAPI = create_app(
        Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key=TEST_SECRET_KEY)
    )
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def reachable(document: dict[str, Any], node: Any) -> set[str]:
    """Names of the component schemas ``node`` refers to, directly or through others."""
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    todo = refs(node)
    while todo:
        name = todo.pop().rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            todo += refs(schemas[name])
    return seen


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"{ref} is not in components"


def test_every_api_route_declares_the_bearer_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["HTTPBearer"]["description"],
    }
    assert schemes["APIKeyHeader"]["in"] == "header"
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"
    api = [(m, p, op) for m, p, op in operations(document) if p.startswith("/api/v1/")]
    assert len(api) >= 10
    for method, path, operation in api:
        assert {"HTTPBearer": []} in operation.get("security", []), f"{method} {path}"
        assert {"401", "403", "429"} <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.parametrize(
    ("path", "schema_ref"),
    [
        ("/api/v1/events", "EventIn"),
        ("/api/v1/suppliers", "SupplierIn"),
        ("/api/v1/churn/predict", "PredictRequest"),
    ],
)
def test_write_routes_declare_their_request_schema_and_body_errors(
    document: dict[str, Any], path: str, schema_ref: str
) -> None:
    operation = document["paths"][path]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]
    assert schema_ref in reachable(document, body["content"]["application/json"])
    assert {"413", "415", "422"} <= set(operation["responses"])


def test_error_responses_have_the_error_shape(document: dict[str, Any]) -> None:
    error_ref = "#/components/schemas/ErrorBody"
    shape = document["components"]["schemas"]["ErrorDetail"]
    assert set(shape["required"]) == {"code", "message"}
    assert set(shape["properties"]) == {"code", "message", "details"}
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, f"{method} {path} {status}"


@pytest.mark.parametrize(
    "path", ["/api/v1/suppliers/{supplier_id}", "/api/v1/suppliers/{supplier_id}/churn"]
)
def test_routes_of_one_record_document_404(document: dict[str, Any], path: str) -> None:
    assert "404" in document["paths"][path]["get"]["responses"]


def test_sort_values_are_enumerated(document: dict[str, Any]) -> None:
    (sort,) = [
        p
        for p in document["paths"]["/api/v1/suppliers"]["get"]["parameters"]
        if p["name"] == "sort"
    ]
    assert sort["schema"]["enum"] == list(SORTS)
    assert list(get_args(SupplierSort)) == list(SORTS)


def test_days_are_documented_as_strict_dates(document: dict[str, Any]) -> None:
    (as_of,) = document["paths"]["/api/v1/reports/overview"]["get"]["parameters"]
    day = as_of["schema"]["anyOf"][0]
    assert day["format"] == "date"
    assert re.match(day["pattern"], "2026-06-15")
    assert not re.match(day["pattern"], "0.0")


def test_metrics_are_documented_as_text(document: dict[str, Any]) -> None:
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == [
        "text/plain"
    ]


async def test_metrics_are_served_as_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


async def test_docs_are_served_from_the_app_itself(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    assert all(s.startswith("/") for s in sources), f"assets from elsewhere: {sources}"
    assert "<script>" not in page.text  # no inline script
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200, source
    assert (await client.get("/redoc")).status_code == 404


def test_asking_a_survey_documents_both_answers(document: dict[str, Any]) -> None:
    """Queued is 202 and "asked recently" is 200: a client reading the schema sees both."""
    answers = document["paths"]["/api/v1/suppliers/{supplier_id}/surveys"]["post"]["responses"]
    assert {"200", "202"} <= set(answers)
