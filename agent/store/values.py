"""What the store can keep: ids that travel in URLs and CSV files, and JSON it can read back."""

from __future__ import annotations

import math
import re
from typing import Any

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable_id(value: str | None) -> str | None:
    """A pydantic validator body: ids travel in URLs, CSV files and PostgreSQL text (which
    refuses NUL), so control characters are refused."""
    if value is not None and CONTROL.search(value):
        raise ValueError("must not contain control characters (line breaks, tabs, NUL)")
    return value


def storable_json(value: Any) -> Any:
    """A pydantic validator body: JSON parsers accept NaN, Infinity and 1e999, and JSON
    strings may hold NUL; the store cannot keep either (the row could never be read back,
    and PostgreSQL refuses NUL)."""
    problem = _unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


def _unstorable(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite (no NaN or Infinity)"
    if isinstance(value, str) and "\x00" in value:
        return "text must not contain NUL characters"
    if isinstance(value, dict):
        items: Any = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        return None
    return next((p for p in map(_unstorable, items) if p), None)
