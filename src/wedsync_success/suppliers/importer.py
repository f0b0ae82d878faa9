"""Reading suppliers, and their subscription periods, from CSV or JSON Lines files (the shape
a billing or CRM export has).

A JSONL line is a supplier object as ``POST /api/v1/suppliers`` takes it. A CSV row has one
column per field; its users come as a ``users`` column holding a JSON list, or as
``user_email``, ``user_name`` and ``user_phone`` for a single contact. Empty cells are left
out, so the supplier keeps what it has (see :func:`service.import_batch`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wedsync_success.kit import files
from wedsync_success.kit.files import FileBatch
from wedsync_success.kit.limits import parse_json
from wedsync_success.suppliers.schemas import SUPPLIER_FIELDS

FIELD_COLUMNS = ("external_id", *SUPPLIER_FIELDS)
CONTACT_COLUMNS = ("user_email", "user_name", "user_phone")
REQUIRED_COLUMNS = ("external_id", "business_name", "vendor_type", "country", "signed_up_at")
KNOWN_COLUMNS = (*FIELD_COLUMNS, "users", *CONTACT_COLUMNS)


_FIELD_SET = frozenset(FIELD_COLUMNS)


def _csv_item(row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        k: text for k, v in row.items() if k in _FIELD_SET and v and (text := v.strip())
    }
    raw_users = (row.get("users") or "").strip()
    email, name, phone = [(row.get(c) or "").strip() for c in CONTACT_COLUMNS]
    if raw_users and email:
        raise ValueError("users: give a users column or user_email, not both")
    if raw_users:
        try:
            item["users"] = parse_json(raw_users, what="users column")
        except ValueError as exc:
            raise ValueError(f"users: not valid JSON ({exc})") from None
    elif email:
        if not name:
            raise ValueError("user_name: needed with user_email")
        item["users"] = [{"email": email, "name": name} | ({"phone": phone} if phone else {})]
    elif name or phone:
        raise ValueError("user_email: needed with user_name and user_phone")
    return item


def read_batches(path: Path, *, batch_size: int) -> Iterator[FileBatch]:
    """Yield batches of up to ``batch_size`` suppliers; unreadable lines are reported."""
    return files.read_batches(
        path,
        batch_size=batch_size,
        required_columns=REQUIRED_COLUMNS,
        known_columns=KNOWN_COLUMNS,
        csv_item=_csv_item,
    )


PERIOD_COLUMNS = (
    "supplier_external_id",
    "plan",
    "start_date",
    "end_date",
    "mrr_minor",
    "currency",
    "quantity",
    "discount_minor",
    "bill_period_months",
)
REQUIRED_PERIOD_COLUMNS = PERIOD_COLUMNS[:6]


def _period_item(row: dict[str, str]) -> dict[str, Any]:
    return {k: v.strip() for k, v in row.items() if k in PERIOD_COLUMNS and v and v.strip()}


def read_period_batches(path: Path, *, batch_size: int) -> Iterator[FileBatch]:
    """Yield batches of up to ``batch_size`` subscription periods (see ``suppliers.periods``)."""
    return files.read_batches(
        path,
        batch_size=batch_size,
        required_columns=REQUIRED_PERIOD_COLUMNS,
        known_columns=PERIOD_COLUMNS,
        csv_item=_period_item,
    )
