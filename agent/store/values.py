"""What the store can keep: ids that travel in URLs and CSV files, text it can encode, and JSON
it can read back."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# JSON's "\ud800" escape parses to a lone UTF-16 surrogate: not a character, so it cannot be
# encoded as UTF-8 (PostgreSQL, HTTP bodies, terminals) and orjson refuses to read it back.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
UNSHOWABLE = re.compile(r"[\x00\ud800-\udfff]")
MAX_DEPTH = 32

NUL_TEXT = "must not contain NUL characters"
SURROGATE_TEXT = "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff is not a character)"


def text_problem(value: str) -> str | None:
    """Why the store cannot keep this text, if it cannot."""
    if "\x00" in value:
        return NUL_TEXT  # PostgreSQL refuses it in text and in jsonb
    if LONE_SURROGATE.search(value):
        return SURROGATE_TEXT
    return None


def storable_text(value: Any) -> Any:
    """A pydantic before-validator body for free text. Before, because pydantic's own check
    refuses a surrogate with 'unable to parse raw data as a unicode string', which names no
    reason a client can act on, and lets NUL through."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
    return value


StorableText = Annotated[str, BeforeValidator(storable_text)]


def storable_keys(value: Any) -> Any:
    """A pydantic model before-validator body: a field name holding a lone surrogate fails
    pydantic's key check with no reason and no field named; name it (escaped) instead."""
    if isinstance(value, dict):
        for key in value:
            problem = text_problem(key) if isinstance(key, str) else None
            if problem:
                raise ValueError(f"unknown field '{shown(key)}' (a field name {problem})")
    return value


def shown(value: str) -> str:
    """Client text made safe to put in a message, a log line or a UTF-8 body: NUL and lone
    surrogates written as escapes (`\\x00`, `\\ud800`)."""
    return UNSHOWABLE.sub(lambda m: ascii(m.group())[1:-1], value)


def printable_id(value: str | None) -> str | None:
    """A pydantic validator body: ids travel in URLs, CSV files and PostgreSQL text (which
    refuses NUL), so control characters and lone surrogates are refused."""
    if value is not None and CONTROL.search(value):
        raise ValueError("must not contain control characters (line breaks, tabs, NUL)")
    return storable_text(value)  # type: ignore[no-any-return]


def storable_json(value: Any) -> Any:
    """A pydantic validator body: JSON parsers accept NaN, Infinity and 1e999, and JSON
    strings may hold NUL or lone surrogates; the store cannot keep any of them (the row could
    never be read back, and PostgreSQL refuses NUL). Deep nesting is refused too: encoding and
    reading it back recurse once per level."""
    problem = _unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


def _unstorable(value: Any) -> str | None:
    # iterative: a body nested hundreds deep must be refused, not overflow the stack
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "numbers must be finite (no NaN or Infinity)"
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"text {problem}"
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"must not be nested more than {MAX_DEPTH} levels deep"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)
    return None
