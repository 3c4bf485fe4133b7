"""Who may be contacted: the one rule every source of leads goes through (the API, file imports,
the CRM imports to come, rows stored before the rule existed).

CRM exports carry "do not contact" under their own names and as text ("Y", "true", a date), and
CSV imports put unknown columns in `attributes`. Any source that says do-not-contact wins: a
conflict is never resolved towards contacting."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DO_NOT_CONTACT_NAMES: tuple[str, ...] = (
    "do_not_contact",
    "do_not_email",
    "unsubscribed",
    "email_opt_out",
    "opted_out",
    "HasOptedOutOfEmail",  # Salesforce
    "hs_email_optout",  # HubSpot
)
"""Attribute names that mean "do not contact", compared without case, spaces, '_' or '-'."""

# Values that clearly say "no". Anything else a do-not-contact attribute holds ("Y", 1, a date,
# "opted out") says yes: an unreadable value must not make a lead contactable.
_SAYS_NO = frozenset({"", "false", "no", "n", "0", "f", "off", "none", "null"})


def _normalised(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


_NAMES = frozenset(_normalised(name) for name in DO_NOT_CONTACT_NAMES)


def says_do_not_contact(field: bool, attributes: Mapping[str, Any]) -> bool:
    """True when the lead's own flag or any do-not-contact attribute says so."""
    if field:
        return True
    return any(
        _normalised(name) in _NAMES and _says_yes(value) for name, value in attributes.items()
    )


def _says_yes(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().casefold() not in _SAYS_NO
