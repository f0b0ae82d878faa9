"""The workspace use cases the API and the dashboard share: notes on a supplier, and
snoozing an account's automatic alerts.

Who may do what: any admin or manager writes a note; only its author edits it; its author
or an admin deletes it (an admin clears a note left by someone who has gone, or one that
should not have been written). Viewers write nothing (the dashboard's ``ActingUser`` and
:func:`acting_member` refuse them).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from wedsync_success.access import repository as access_repository
from wedsync_success.access.models import TeamRole, TeamUser
from wedsync_success.access.team import normalise_email
from wedsync_success.db.locks import lock_suppliers
from wedsync_success.interventions import repository as interventions_repository
from wedsync_success.kit.errors import Forbidden, NotFound, ValidationFailed
from wedsync_success.kit.pagination import decode_cursor, encode_cursor
from wedsync_success.suppliers import repository as suppliers_repository
from wedsync_success.workspace import repository
from wedsync_success.workspace.models import AccountSnooze, SupplierNote
from wedsync_success.workspace.schemas import NoteOut, NotePage, NoteText, SnoozeIn, SnoozeOut


async def acting_member(*, session: AsyncSession, email: str, field: str) -> TeamUser:
    """The enabled admin or manager with ``email``: who an API write is done on behalf of."""
    user = await access_repository.user_by_email(session, normalise_email(email))
    if user is None or user.disabled_at is not None:
        raise ValidationFailed(
            "No enabled team member has this email",
            details=[{"field": field, "reason": "not an enabled team member"}],
        )
    if not user.can_act:
        raise Forbidden(
            f"{user.email} is a {user.role}: viewers change nothing",
            details=[{"field": field, "reason": "viewers cannot write"}],
        )
    return user


async def _supplier_or_404(session: AsyncSession, supplier_id: uuid.UUID) -> None:
    if await suppliers_repository.get(session, supplier_id) is None:
        raise NotFound(f"No supplier with id {supplier_id}")


async def _notes_out(session: AsyncSession, notes: list[SupplierNote]) -> list[NoteOut]:
    authors = await access_repository.names_of(
        session, sorted({n.author_id for n in notes if n.author_id is not None})
    )
    return [
        NoteOut(
            id=n.id,
            supplier_id=n.supplier_id,
            author_id=n.author_id,
            author_name=authors.get(n.author_id) if n.author_id else None,
            body=n.body,
            created_at=n.created_at,
            updated_at=n.updated_at,
            edited=n.updated_at > n.created_at,
        )
        for n in notes
    ]


async def list_notes(
    *, session: AsyncSession, supplier_id: uuid.UUID, cursor: str | None, limit: int
) -> NotePage:
    """A supplier's notes, newest first."""
    await _supplier_or_404(session, supplier_id)
    after = None
    if cursor:
        written, ident = decode_cursor(cursor, shape=(str, uuid.UUID))
        try:
            after = (datetime.fromisoformat(written), ident)
        except ValueError:
            raise ValidationFailed(
                "The cursor is not one this listing made",
                details=[{"field": "cursor", "reason": "not a cursor of this listing"}],
            ) from None
    rows = list(await repository.notes_page(session, supplier_id, after=after, limit=limit + 1))
    items = await _notes_out(session, rows[:limit])
    more = len(rows) > limit
    return NotePage(
        items=items,
        next_cursor=encode_cursor([items[-1].created_at, items[-1].id]) if more else None,
    )


async def add_note(
    *,
    session: AsyncSession,
    supplier_id: uuid.UUID,
    author: TeamUser,
    text: NoteText,
    now: datetime,
) -> NoteOut:
    """Write a note on a supplier, by ``author``."""
    await _supplier_or_404(session, supplier_id)
    note = SupplierNote(
        id=uuid.uuid4(),
        supplier_id=supplier_id,
        author_id=author.id,
        body=text.body,
        created_at=now,
        updated_at=now,
    )
    session.add(note)
    await session.flush()
    return (await _notes_out(session, [note]))[0]


async def _note_or_404(session: AsyncSession, note_id: uuid.UUID) -> SupplierNote:
    note = await repository.note(session, note_id)
    if note is None:
        raise NotFound(f"No note with id {note_id}")
    return note


async def get_note(*, session: AsyncSession, note_id: uuid.UUID) -> NoteOut:
    return (await _notes_out(session, [await _note_or_404(session, note_id)]))[0]


async def edit_note(
    *, session: AsyncSession, note_id: uuid.UUID, author: TeamUser, text: NoteText, now: datetime
) -> NoteOut:
    """Change a note's text; only its author may."""
    note = await _note_or_404(session, note_id)
    if note.author_id != author.id:
        raise Forbidden(
            "Only the note's author can edit it",
            details=[{"field": "author", "reason": "not the note's author"}],
        )
    if text.body != note.body:
        note.body, note.updated_at = text.body, now
        await session.flush()
    return (await _notes_out(session, [note]))[0]


async def delete_note(*, session: AsyncSession, note_id: uuid.UUID, by: TeamUser) -> uuid.UUID:
    """Delete a note (its author, or an admin); the supplier it was on."""
    note = await _note_or_404(session, note_id)
    if note.author_id != by.id and by.role != TeamRole.ADMIN:
        raise Forbidden(
            "Only the note's author or an admin can delete it",
            details=[{"field": "author", "reason": "not the note's author or an admin"}],
        )
    supplier_id = note.supplier_id
    await session.delete(note)
    await session.flush()
    return supplier_id


async def _snooze_out(session: AsyncSession, snooze: AccountSnooze) -> SnoozeOut:
    names = await access_repository.names_of(
        session, [snooze.snoozed_by] if snooze.snoozed_by else []
    )
    return SnoozeOut(
        id=snooze.id,
        supplier_id=snooze.supplier_id,
        snoozed_by=snooze.snoozed_by,
        snoozed_by_name=names.get(snooze.snoozed_by) if snooze.snoozed_by else None,
        reason=snooze.reason,
        starts_at=snooze.starts_at,
        until=snooze.until,
        ended_at=snooze.ended_at,
    )


async def active_snooze(
    *, session: AsyncSession, supplier_id: uuid.UUID, now: datetime
) -> SnoozeOut | None:
    """The supplier's snooze in force at ``now``, if any."""
    found = (await repository.active_snoozes(session, [supplier_id], now)).get(supplier_id)
    return await _snooze_out(session, found) if found else None


async def snooze_alerts(
    *, session: AsyncSession, supplier_id: uuid.UUID, by: TeamUser, body: SnoozeIn, now: datetime
) -> SnoozeOut:
    """Hold the account's automatic alerts for ``body.days`` days; a snooze in force is
    ended and replaced (its row kept as history)."""
    await lock_suppliers(session, [supplier_id])
    await _supplier_or_404(session, supplier_id)
    await repository.end_active_snoozes(session, supplier_id, now)
    snooze = AccountSnooze(
        id=uuid.uuid4(),
        supplier_id=supplier_id,
        snoozed_by=by.id,
        reason=body.reason,
        starts_at=now,
        until=now + timedelta(days=body.days),
    )
    session.add(snooze)
    await session.flush()
    return await _snooze_out(session, snooze)


async def end_snooze(*, session: AsyncSession, supplier_id: uuid.UUID, now: datetime) -> int:
    """End the supplier's snooze now and let what it held be decided again at once (each
    held step goes back through the same gate: quiet hours still apply); the number of
    snoozes ended (0: none was in force)."""
    await lock_suppliers(session, [supplier_id])
    await _supplier_or_404(session, supplier_id)
    held = (await repository.active_snoozes(session, [supplier_id], now)).get(supplier_id)
    ended = await repository.end_active_snoozes(session, supplier_id, now)
    if held is not None:
        await interventions_repository.release_held_jobs(
            session, supplier_id, until=held.until, now=now
        )
    return ended
