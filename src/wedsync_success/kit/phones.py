"""Phone numbers as E.164 (``+447911123456``), checked against the numbering plans."""

from __future__ import annotations

import phonenumbers


def e164(raw: str, default_region: str | None = None) -> str:
    """``raw`` in E.164; a national number needs its region. Raises ``ValueError`` with the
    plain reason."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
