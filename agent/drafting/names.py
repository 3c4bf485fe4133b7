"""The name to greet a lead by, from whichever field carries it: CRMs export `first_name`,
`FirstName`, `firstname` or `given_name`; some store "Last, First"; trade-show scans arrive in
capitals. Diacritics and scripts are kept as written."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from agent.drafting.untrusted import usable

_FIRST_NAME_KEYS = ("firstname", "givenname", "first")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).casefold()


def _from_attributes(attributes: Mapping[str, Any]) -> str | None:
    for name, value in attributes.items():
        if _key(name) in _FIRST_NAME_KEYS:
            found = usable(value, max_words=3)
            if found:
                return found
    return None


def _ideographic(text: str) -> bool:
    """Scripts without upper case or spaces between given and family name (CJK)."""
    return any(
        unicodedata.name(ch, "").startswith(("CJK", "HANGUL", "HIRAGANA", "KATAKANA"))
        for ch in text
    )


def _readable_case(word: str) -> str:
    # "TRANG" reads as shouting; "McAdam" and "van" are left as typed
    return word[:1] + word[1:].lower() if word.isupper() and len(word) > 1 else word


def greeting_name(name: str | None, attributes: Mapping[str, Any]) -> str | None:
    """The first name (or, for a name in a CJK script, the full name as written), or None."""
    given = _from_attributes(attributes)
    if given:
        return _readable_case(given.split()[0])
    full = usable(name, max_words=5)
    if not full or "@" in full:
        return None
    if _ideographic(full):
        return full
    if "," in full:  # "Okonkwo, Chidi"
        after = full.split(",", 1)[1].strip()
        full = after or full.split(",", 1)[0]
    first = full.split()[0].strip(".,;:")
    return _readable_case(first) if first else None
