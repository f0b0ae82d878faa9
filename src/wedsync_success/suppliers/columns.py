"""New suppliers' import lines as columns: the fast path of a first import.

A first import creates every supplier of its file. Validating each line with ``SupplierIn``
and turning each model back into the storage's rows was about a third of it, and building
the models without validating costs as much (measured and withdrawn: benchmarks/README.md),
so this path skips the models altogether: the *plain* lines of suppliers that do not exist
yet are checked a column at a time (``kit/columns.py``) and handed to the repository as the
columns it writes (``repository.insert_created``).

A line is plain when it has no key outside :data:`PLAIN_KEYS` and

- ``external_id`` is printable ASCII without spaces or ``/``, at most 128 characters;
- ``business_name``, ``acquisition_channel`` and each user's ``name`` are text without
  control characters, NUL or lone surrogates and with nothing for the schema to strip
  (no whitespace around it), within the field's length;
- ``vendor_type`` and ``plan_tier`` are exactly one of their values, ``country`` two capital
  letters and ``currency`` three;
- ``mrr_minor`` is a whole number (not a boolean), or its digits without sign or leading
  zero, from 0 to ``MAX_AMOUNT_MINOR``;
- ``signed_up_at`` is an instant as :data:`kit.columns.INSTANT` writes it, in the stored range;
- ``users``, when given, is a list of at most 50 objects each with just a plain ``email``
  (:func:`kit.emails.plain_normalised`) and a ``name``, no two emails alike ignoring case.

The fast path only ever accepts: every other line goes to the schema, which accepts it or
rejects it with its own field and reason; and a line it accepts is stored exactly as the
schema's path stores it (tests/suppliers/test_new_supplier_columns.py proves both with
hypothesis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import chain, repeat
from operator import itemgetter, methodcaller
from typing import Any

from wedsync_success.kit.columns import INSTANT, TextColumn, column_getter, read_instants, refuse
from wedsync_success.kit.emails import plain_normalised
from wedsync_success.kit.ids import fresh_uuids
from wedsync_success.kit.limits import MAX_AMOUNT_MINOR
from wedsync_success.suppliers.models import PlanTier, VendorType
from wedsync_success.suppliers.schemas import SUPPLIER_FIELDS, SupplierIn, SupplierUserIn

PLAIN_KEYS = frozenset(
    {
        "external_id",
        "business_name",
        "vendor_type",
        "country",
        "signed_up_at",
        "plan_tier",
        "mrr_minor",
        "currency",
        "acquisition_channel",
        "users",
    }
)
"""The keys a plain line may have; a line with any other (``id``, a subscription state, a
time zone, an owner…) goes to the schema."""

_USER_KEYS = frozenset({"email", "name"})
_MAX_USERS = 50


def _text(max_length: int) -> TextColumn:
    """Text of 1 to ``max_length`` characters the schema would keep as it is."""
    edge = r"[^\s\x00-\x1f\x7f\ud800-\udfff]"
    inner = r"[^\x00-\x1f\x7f\ud800-\udfff]"
    return TextColumn.of(f"{edge}(?:{inner}{{0,{max_length - 2}}}{edge})?")


_EXTERNAL_IDS = TextColumn.of("[!-.0-~]{1,128}")
_NAMES = _text(200)
_CHANNELS = _text(64)
_COUNTRIES = TextColumn.of("[A-Z]{2}")
_CURRENCIES = TextColumn.of("[A-Z]{3}")
_INSTANTS = TextColumn.of(INSTANT)
_AMOUNTS = TextColumn.of("0|[1-9][0-9]{0,17}")
_VENDOR_TYPES = frozenset(VendorType)
_PLAN_TIERS = frozenset(PlanTier)


def _default(model: type[SupplierIn] | type[SupplierUserIn], name: str) -> Any:
    value = model.model_fields[name].default
    return value.value if isinstance(value, Enum) else value


_FIELD_DEFAULTS = {
    name: _default(SupplierIn, name)
    for name in SUPPLIER_FIELDS
    if not SupplierIn.model_fields[name].is_required()
}
"""What ``SupplierIn`` gives a field a line leaves out (a required one is in every plain line)."""
_ROLE = _default(SupplierUserIn, "role")


@dataclass
class NewSuppliers:
    """The accepted lines as the columns ``repository.insert_created`` writes."""

    index: list[int] = field(default_factory=list)
    """Each supplier's place in the lines given."""
    suppliers: dict[str, list[Any]] = field(default_factory=dict)
    """``id`` (fresh), ``external_id`` and every field of ``SUPPLIER_FIELDS``."""
    users: dict[str, list[Any]] = field(default_factory=dict)
    """Their users' columns (empty when none has any)."""

    def __len__(self) -> int:
        return len(self.index)


def split_new(lines: Sequence[dict[str, Any]]) -> tuple[NewSuppliers, list[int]]:
    """Accept the plain lines of ``lines`` (see the module note) as new suppliers; the
    places of the others, for the schema. Every line must be of a supplier that does not
    exist, by an external id no other line gives (an import's new lines)."""
    n = len(lines)
    if not n:
        return NewSuppliers(), []
    ok = [True] * n
    if not set().union(*lines) <= PLAIN_KEYS:
        refuse(ok, [line.keys() <= PLAIN_KEYS for line in lines])
    get = column_getter(lines)
    external_ids, names = get("external_id"), get("business_name")
    vendor_types, plans = get("vendor_type"), get("plan_tier")
    countries, currencies = get("country"), get("currency", _FIELD_DEFAULTS["currency"])
    channels, signed_up = get("acquisition_channel"), get("signed_up_at")
    refuse(ok, _EXTERNAL_IDS.plain(external_ids))
    refuse(ok, _NAMES.plain(names))
    refuse(ok, _members(vendor_types, _VENDOR_TYPES))
    refuse(ok, _members(plans, _PLAN_TIERS))
    refuse(ok, _COUNTRIES.plain(countries))
    refuse(ok, _CURRENCIES.plain(currencies))
    if any(channel is not None for channel in channels):
        given = _CHANNELS.each(channels)
        refuse(ok, [c is None or g for c, g in zip(channels, given, strict=True)])
    amounts, plain_amounts = _amounts(get("mrr_minor"))
    refuse(ok, plain_amounts)
    refuse(ok, _INSTANTS.plain(signed_up))
    users = get("users")
    emails = _plain_users(users, ok)
    kept = [i for i in range(n) if ok[i]]
    moments, storable = read_instants([signed_up[i] for i in kept])
    if not all(storable):
        kept = [i for i, good in zip(kept, storable, strict=True) if good]
        moments = [m for m, good in zip(moments, storable, strict=True) if good]
    accepted = _columns(kept, lines, moments, amounts, emails)
    taken = set(kept)
    return accepted, [i for i in range(n) if i not in taken]


def _members(values: list[Any], allowed: frozenset[str]) -> list[bool] | None:
    """None when every value is one of ``allowed``; otherwise which are."""
    try:
        if set(values) <= allowed:
            return None
    except TypeError:  # an unhashable value (a list, an object)
        pass
    return [type(v) is str and v in allowed for v in values]


def _amounts(values: list[Any]) -> tuple[list[int], list[bool]]:
    """Each amount as a whole number (0 where not plain), and which are plain."""
    texts = [type(v) is str for v in values]
    digits = _AMOUNTS.each([v if is_text else "" for v, is_text in zip(values, texts, strict=True)])
    amounts: list[int] = []
    plain: list[bool] = []
    for value, is_text, spelt in zip(values, texts, digits, strict=True):
        number = int(value) if is_text and spelt else value if type(value) is int else -1
        good = 0 <= number <= MAX_AMOUNT_MINOR
        amounts.append(number if good else 0)
        plain.append(good)
    return amounts, plain


def _plain_users(users: list[Any], ok: list[bool]) -> list[list[str]]:
    """Clear ``ok`` for the lines whose ``users`` are not plain; the normalised emails of
    each line's users (empty for a line without users, or refused)."""
    listed = [u is not None for u in users]
    emails: list[list[str]] = [[] for _ in users]
    if not any(listed):
        return emails
    refuse(ok, [u is None or (type(u) is list and len(u) <= _MAX_USERS) for u in users])
    lines = [i for i, given in enumerate(listed) if given and ok[i]]
    counts = [len(users[i]) for i in lines]
    owner = list(chain.from_iterable(map(repeat, lines, counts)))
    flat = list(chain.from_iterable(users[i] for i in lines))
    good = [type(u) is dict and u.keys() == _USER_KEYS for u in flat]
    named = _NAMES.each([u["name"] if g else "" for u, g in zip(flat, good, strict=True)])
    normalised = [
        plain_normalised(u["email"]) if g and n and type(u["email"]) is str else None
        for u, g, n in zip(flat, good, named, strict=True)
    ]
    bad = {line for line, email in zip(owner, normalised, strict=True) if email is None}
    bad |= _repeated_emails(owner, normalised)
    for line, email in zip(owner, normalised, strict=True):
        if email is not None:
            emails[line].append(email)
    refuse(ok, [i not in bad for i in range(len(users))])
    return emails


def _repeated_emails(owner: list[int], emails: list[str | None]) -> set[int]:
    """The lines listing one email (ignoring case) for two users."""
    seen: set[tuple[int, str]] = set()
    repeated: set[int] = set()
    for line, email in zip(owner, emails, strict=True):
        if email is None:
            continue
        key = (line, email.lower())
        if key in seen:
            repeated.add(line)
        seen.add(key)
    return repeated


def _columns(
    kept: list[int],
    lines: Sequence[dict[str, Any]],
    moments: list[Any],
    amounts: list[int],
    emails: list[list[str]],
) -> NewSuppliers:
    """The columns of the ``kept`` lines (``moments``: their signup instants, in order)."""
    count = len(kept)
    ids = fresh_uuids(count)
    picked = [lines[i] for i in kept]
    suppliers: dict[str, list[Any]] = {"id": ids}
    for name in ("external_id", *SUPPLIER_FIELDS):
        suppliers[name] = list(map(methodcaller("get", name, _FIELD_DEFAULTS.get(name)), picked))
    suppliers["signed_up_at"] = moments
    suppliers["subscription_started_at"] = moments
    suppliers["mrr_minor"] = [amounts[i] for i in kept]
    users: dict[str, list[Any]] = {}
    listed = [
        (sid, lines[i]["users"], emails[i])
        for sid, i in zip(ids, kept, strict=True)
        if lines[i].get("users")
    ]
    if listed:
        owners = list(chain.from_iterable(repeat(sid, len(given)) for sid, given, _ in listed))
        users = {
            "id": fresh_uuids(len(owners)),
            "supplier_id": owners,
            "email": list(chain.from_iterable(mails for _, _, mails in listed)),
            "name": list(map(itemgetter("name"), chain.from_iterable(g for _, g, _ in listed))),
            "role": [_ROLE] * len(owners),
            "phone": [None] * len(owners),
        }
    return NewSuppliers(index=kept, suppliers=suppliers, users=users)
