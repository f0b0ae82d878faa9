"""Email addresses, validated as pydantic's ``EmailStr`` does, quickly for the common case.

``EmailStr`` runs the email-validator library on every address: about 30 µs each, more
than half of what a supplier import may spend on a row to load 20,000 a second. Most
addresses are plain ASCII ``local@domain.tld``; :data:`Email` accepts those when they pass
a strict check that only admits addresses email-validator accepts too (a dot-atom local
part; letter, digit and hyphen labels without a double hyphen, so no punycode and no
reserved label; an alphabetic top-level domain that is not special-use), normalised the
same way (the domain lower-cased), and sends everything else (Unicode, quoted local
parts, "Name <address>" forms, anything odd) to email-validator for its verdict and reason.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.networks import validate_email

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+([A-Za-z]{{2,63}}))")
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
"""Top-level domains email-validator refuses (its SPECIAL_USE_DOMAIN_NAMES)."""


def plain_normalised(text: str) -> str | None:
    """``text`` normalised as ``EmailStr`` would, when it is a plain address (see the module
    note) with nothing around it; None for anything else, which only email-validator judges."""
    plain = _PLAIN.fullmatch(text)
    if (
        plain is not None
        and len(text) <= 254
        and len(plain.group(1)) <= 64
        and plain.group(3).lower() not in _SPECIAL_USE
        and "--" not in plain.group(2)  # punycode (decoded) and reserved "ab--" labels
    ):
        return f"{plain.group(1)}@{plain.group(2).lower()}"
    return None


def normalise(value: str) -> str:
    """``value`` as ``EmailStr`` would return it, or refused with ``EmailStr``'s reason."""
    plain = plain_normalised(value.strip())
    return plain if plain is not None else validate_email(value)[1]


Email = Annotated[str, AfterValidator(normalise), Field(json_schema_extra={"format": "email"})]
"""An email address, as ``EmailStr`` validates and normalises it (see :func:`normalise`)."""
