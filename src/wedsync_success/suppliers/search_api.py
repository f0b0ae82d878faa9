"""The supplier search route (mounted before ``/suppliers/{supplier_id}``, which would take
``search`` for an id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wedsync_success.suppliers.names import MAX_QUERY_CHARS
from wedsync_success.suppliers.schemas import SupplierMatches
from wedsync_success.suppliers.search import MAX_MATCHES, search_suppliers
from wedsync_success.web.deps import API_PREFIX, ReadKey, SessionDep
from wedsync_success.web.openapi import READ, error_responses

router = APIRouter(prefix=API_PREFIX, tags=["suppliers"])

QUERY_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"
"""Not blank, no NUL (the check itself gives the plain reason)."""


@router.get(
    "/suppliers/search",
    response_model=SupplierMatches,
    summary="Find suppliers by name",
    responses=error_responses(*READ),
)
async def get_supplier_search(
    session: SessionDep,
    _key: ReadKey,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            pattern=QUERY_PATTERN,
            description="Words that each start a word of the business name, in any order; "
            "case and accents do not matter (`hollow oa` finds Hollow Oak Florals)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_MATCHES)] = 10,
) -> SupplierMatches:
    """Names starting with the query first, then every other match, each by name."""
    return await search_suppliers(session=session, q=q, limit=limit)
