"""Finding suppliers by name: every query word prefixes some word of the business name."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.kit.errors import ValidationFailed
from wedsync_success.kit.limits import text_problem
from wedsync_success.suppliers import repository
from wedsync_success.suppliers.names import MAX_QUERY_CHARS, name_key, query_words
from wedsync_success.suppliers.schemas import SupplierMatch, SupplierMatches

MAX_MATCHES = 50


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(f"q {reason}", details=[{"field": "q", "reason": reason}])


def checked_query(q: str) -> str:
    """``q`` without surrounding blanks, or a refusal naming ``q``: blank, too long, NUL."""
    problem = text_problem(q)
    if problem is not None:
        raise _refuse(problem)
    if len(q) > MAX_QUERY_CHARS:
        raise _refuse(f"is longer than {MAX_QUERY_CHARS} characters")
    q = q.strip()
    if not q:
        raise _refuse("is blank: type part of a supplier's name")
    return q


async def search_suppliers(*, session: AsyncSession, q: str, limit: int) -> SupplierMatches:
    """Up to ``limit`` suppliers matching ``q``, names starting with it first, then by name."""
    q = checked_query(q)
    if not 1 <= limit <= MAX_MATCHES:
        raise ValidationFailed(
            f"limit must be from 1 to {MAX_MATCHES}",
            details=[{"field": "limit", "reason": f"not from 1 to {MAX_MATCHES}"}],
        )
    wanted = query_words(q)
    if not wanted:  # only punctuation: no name word can start with it
        return SupplierMatches(items=[])
    rows = await repository.search(session, query_words=wanted, query_key=name_key(q), limit=limit)
    return SupplierMatches(
        items=[
            SupplierMatch(
                id=sid,
                business_name=name,
                vendor_type=vendor_type,
                health_score=score,
                risk_level=risk_level,
            )
            for sid, name, vendor_type, score, risk_level in rows
        ]
    )
