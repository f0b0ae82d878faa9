"""Deleting suppliers takes their users and search words with them (triggers on
``suppliers``, not foreign keys: migrations 0038 and 0039), and what hangs off those users
goes by its own keys; other suppliers keep theirs."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import delete, select

from tests.helpers import create_supplier
from wedsync_success.context import AppContext
from wedsync_success.interventions.models import ContactPreference
from wedsync_success.suppliers.models import Supplier, SupplierNameWord, SupplierUser


async def test_deleted_suppliers_take_their_users_and_words(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ids = [uuid.UUID(await create_supplier(client)) for _ in range(4)]
    async with ctx.db.transaction() as session:
        users = dict(
            (await session.execute(select(SupplierUser.supplier_id, SupplierUser.id))).all()
        )
        for user_id in users.values():
            session.add(
                ContactPreference(
                    supplier_user_id=user_id,
                    channel="email",
                    category="marketing",
                    subscribed=False,
                    source="api",
                    updated_at=ctx.clock(),
                )
            )
    async with ctx.db.transaction() as session:
        await session.execute(delete(Supplier).where(Supplier.id == ids[0]))
        await session.execute(delete(Supplier).where(Supplier.id.in_(ids[1:3])))
    async with ctx.db.sessions() as session:
        left_users = set(await session.scalars(select(SupplierUser.supplier_id)))
        left_words = set(await session.scalars(select(SupplierNameWord.supplier_id).distinct()))
        left_prefs = set(await session.scalars(select(ContactPreference.supplier_user_id)))
    assert left_users == left_words == {ids[3]}
    assert left_prefs == {users[ids[3]]}
