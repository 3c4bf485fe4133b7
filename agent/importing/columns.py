"""Finding a mapping's columns in a file's header, and naming the closest one when it is not
there."""

from __future__ import annotations

import difflib
import re


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


def find_column(alternatives: list[str], header: list[str]) -> str | None:
    """The first of `alternatives` the header has: exactly, or else ignoring case and spacing."""
    for name in alternatives:
        if name in header:
            return name
    loose = {_key(column): column for column in reversed(header)}
    for name in alternatives:
        if _key(name) in loose:
            return loose[_key(name)]
    return None


def closest_column(name: str, header: list[str]) -> str | None:
    keys = {_key(column): column for column in header}
    match = difflib.get_close_matches(_key(name), list(keys), n=1, cutoff=0.6)
    return keys[match[0]] if match else None


def missing_column(target: str, name: str, header: list[str]) -> str:
    """`target: no column 'name' (did you mean 'Name'?)`."""
    closest = closest_column(name, header)
    hint = f" (did you mean '{closest}'?)" if closest else ""
    return f"{target}: no column '{name}'{hint}"
