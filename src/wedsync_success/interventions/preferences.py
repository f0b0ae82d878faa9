"""Who may be sent what: per supplier user, per channel and category (no choice: subscribed).

The rule, in one place:

- A **marketing** message on a channel is refused when the user unsubscribed from that
  channel's marketing messages, or from the channel as a whole (below).
- A **transactional** message (a failed payment, a security notice) is never blocked by a
  marketing unsubscribe. On email and in-app it cannot be refused at all: asking to does
  not validate. On **SMS** it can: an SMS ``STOP`` is stored as the transactional SMS
  choice and blocks every SMS, marketing included, as carriers require.
- Tasks and webhooks are not addressed to a supplier user and are never refused here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import get_args

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.interventions import preferences_repository as repository
from wedsync_success.interventions.channels.base import Category, Channel
from wedsync_success.interventions.preference_schemas import (
    Preference,
    PreferenceChannel,
    Preferences,
)
from wedsync_success.kit.errors import NotFound, ValidationFailed
from wedsync_success.suppliers.repository import user_owners

PREFERENCE_CHANNELS = tuple(Channel(c) for c in get_args(PreferenceChannel))


def refusable(channel: Channel, category: Category) -> bool:
    """Whether a user may unsubscribe from ``category`` messages on ``channel``."""
    return category is Category.MARKETING or channel is Channel.SMS


def blocking_categories(category: Category) -> tuple[Category, ...]:
    """The stored choices on a channel that refuse a message of ``category`` on it."""
    if category is Category.MARKETING:
        return (Category.MARKETING, Category.TRANSACTIONAL)
    return (Category.TRANSACTIONAL,)


async def is_subscribed(
    *,
    session: AsyncSession,
    supplier_user_ids: Collection[uuid.UUID],
    channel: Channel,
    category: Category,
) -> set[uuid.UUID]:
    """Those of ``supplier_user_ids`` who may be sent ``category`` messages on ``channel``."""
    wanted = set(supplier_user_ids)
    if channel not in PREFERENCE_CHANNELS or not wanted:
        return wanted
    refused = await repository.refused_among(
        session,
        supplier_user_ids=wanted,
        channel=channel.value,
        categories=[c.value for c in blocking_categories(category)],
    )
    return wanted - refused


async def set_preferences(
    *,
    session: AsyncSession,
    supplier_user_id: uuid.UUID,
    choices: Sequence[tuple[Channel, Category, bool]],
    source: str,
    now: datetime,
) -> None:
    """Store several choices of one user (an upsert: repeating it changes nothing)."""
    problems = [
        {"field": f"{i}.subscribed", "reason": f"{category} {channel} messages cannot be refused"}
        for i, (channel, category, subscribed) in enumerate(choices)
        if not subscribed and not refusable(channel, category)
    ] + [
        {"field": f"{i}.channel", "reason": f"{channel} has no per-user preferences"}
        for i, (channel, _, _) in enumerate(choices)
        if channel not in PREFERENCE_CHANNELS
    ]
    if problems:
        fields = ", ".join(p["field"] for p in problems)
        raise ValidationFailed(f"Invalid preferences: {fields}", details=problems)
    await _require_user(session, supplier_user_id)
    await repository.upsert(
        session,
        supplier_user_id=supplier_user_id,
        choices=[(ch.value, cat.value, sub) for ch, cat, sub in choices],
        source=source,
        now=now,
    )


async def set_preference(
    *,
    session: AsyncSession,
    supplier_user_id: uuid.UUID,
    channel: Channel,
    category: Category,
    subscribed: bool,
    source: str,
    now: datetime,
) -> None:
    """Store one choice of one user (idempotent)."""
    await set_preferences(
        session=session,
        supplier_user_id=supplier_user_id,
        choices=[(channel, category, subscribed)],
        source=source,
        now=now,
    )


async def preferences_for(*, session: AsyncSession, supplier_user_id: uuid.UUID) -> Preferences:
    """Every channel and category of one user, stored or by default (subscribed)."""
    await _require_user(session, supplier_user_id)
    stored = {
        (row.channel, row.category): row
        for row in await repository.of_user(session, supplier_user_id=supplier_user_id)
    }
    items = []
    for channel in PREFERENCE_CHANNELS:
        for category in Category:
            row = stored.get((channel.value, category.value))
            items.append(
                Preference(
                    channel=channel.value,
                    category=category,
                    subscribed=row.subscribed if row else True,
                    source=row.source if row else None,
                    updated_at=row.updated_at if row else None,
                )
            )
    return Preferences(supplier_user_id=supplier_user_id, preferences=items)


async def _require_user(session: AsyncSession, supplier_user_id: uuid.UUID) -> None:
    if not await user_owners(session, [supplier_user_id]):
        raise NotFound(
            "No such supplier user",
            details=[{"field": "supplier_user_id", "reason": "not found"}],
        )
