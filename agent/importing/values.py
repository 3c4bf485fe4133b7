"""Turns the text of a spreadsheet cell into the value a mapping asks for: a number written with
thousands separators, a yes/no, a date in the format a locale's Excel writes.

Each converter raises ValueError with a reason a marketer can act on; the caller adds the
column and the line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

EpochUnit = Literal["s", "ms", "us"]

_TRUE = frozenset({"true", "yes", "y", "1", "t", "x", "on", "checked"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "off", "unchecked"})
# 1,200 / 1.200 / 1 200 / 1'200: groups of three after one to three digits
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:([,.\u00a0\u202f' ])\d{3})(?:\1\d{3})*")
_EPOCH_DIVISOR: dict[EpochUnit, int] = {"s": 1, "ms": 1_000, "us": 1_000_000}
_EXAMPLE_MOMENT = datetime(2026, 11, 30, 17, 0)


def as_integer(text: str) -> int:
    """A whole number, with any thousands separator Excel writes ("1,200", "1.200", "1 200");
    "1200.0" is 1200."""
    value = text.strip()
    if _GROUPED.fullmatch(value):
        return int(re.sub(r"[^\d+-]", "", value))
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if not number.is_integer():
        raise ValueError(f"'{text}' is not a whole number")
    return int(number)


def as_number(text: str, decimal: Literal[".", ","]) -> float:
    """A number whose decimal sign is `decimal`; the other sign, spaces and apostrophes are
    thousands separators."""
    value = re.sub(r"[\s\u00a0\u202f']", "", text)
    grouping = "," if decimal == "." else "."
    value = value.replace(grouping, "").replace(decimal, ".")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a number (decimal sign '{decimal}')") from None


def as_boolean(text: str) -> bool:
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"'{text}' is not a yes or no (true/false, yes/no, y/n, 1/0)")


def as_datetime(
    text: str, formats: list[str], *, epoch_unit: EpochUnit | None, zone: tzinfo | None
) -> datetime:
    """An ISO 8601 time, one of `formats` (strptime, tried in order: the first that reads
    wins), or, with `epoch_unit`, digits counting from the epoch (UTC). A time without a zone
    gets `zone`; without one it stays naive and the caller decides."""
    value = text.strip()
    if epoch_unit is not None and value.isdigit():
        seconds, rest = divmod(int(value), _EPOCH_DIVISOR[epoch_unit])
        micros = rest * 1_000_000 // _EPOCH_DIVISOR[epoch_unit]
        return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)
    parsed = _parsed(value, formats)
    if parsed is None:
        examples = ", ".join(_EXAMPLE_MOMENT.strftime(f) for f in formats)
        expected = f"e.g. 2026-11-30T17:00:00{', ' + examples if examples else ''}"
        raise ValueError(f"'{text}' is not a date and time in a known format ({expected})")
    if parsed.tzinfo is None and zone is not None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _parsed(value: str, formats: list[str]) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None
