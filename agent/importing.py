"""Reads lead and event files (JSONL or CSV) into records, remembering each record's line."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent.errors import NurtureError
from agent.store.values import LONE_SURROGATE

Kind = Literal["leads", "events"]
_TOP_LEVEL: dict[Kind, tuple[set[str], str]] = {
    "leads": ({"id", "email", "name", "company", "do_not_contact"}, "attributes"),
    "events": ({"id", "lead_id", "type", "occurred_at"}, "properties"),
}


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    record: dict[str, Any] | None
    error: str | None = None


def read_lines(path: Path, kind: Kind) -> Iterator[Line]:
    """Records from a .jsonl/.ndjson/.json file (one object a line) or a .csv file."""
    if not path.is_file():
        raise NurtureError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl(path)
    if suffix == ".csv":
        return _csv(path, kind)
    raise NurtureError(f"{path}: unknown file type '{suffix}' (use .jsonl or .csv)")


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


# Bytes that are not UTF-8 are read as lone surrogates (surrogateescape), so such a line is
# rejected on its own instead of stopping the import half way with a decoding error.
NOT_UTF8 = "not valid UTF-8 (save the file as UTF-8)"


def _jsonl(path: Path) -> Iterator[Line]:
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            if LONE_SURROGATE.search(text):  # a JSON escape such as \ud800 is still ASCII here
                yield Line(number, None, NOT_UTF8)
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Line(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(record, dict):
                yield Line(number, None, "each line must be a JSON object")
                continue
            yield Line(number, record)


def _csv(path: Path, kind: Kind) -> Iterator[Line]:
    top_level, nested = _TOP_LEVEL[kind]
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        if any(LONE_SURROGATE.search(name) for name in reader.fieldnames or ()):
            raise NurtureError(f"{path}: the header line is {NOT_UTF8}")
        for row in reader:
            number = reader.line_num
            if any(LONE_SURROGATE.search(cell) for cell in row.values() if isinstance(cell, str)):
                yield Line(number, None, NOT_UTF8)
                continue
            try:
                yield Line(number, _csv_record(row, top_level, nested))
            except ValueError as exc:
                yield Line(number, None, str(exc))


def _csv_record(row: dict[str, str | None], top_level: set[str], nested: str) -> dict[str, Any]:
    """Known columns stay fields; a JSON `attributes`/`properties` column and every other
    non-empty column go into the nested object."""
    record: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for column, value in row.items():
        if column is None:
            raise ValueError("more cells than the header has columns")
        if value is None or value.strip() == "":
            continue
        if column == nested:
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{nested}: not valid JSON: {exc.msg}") from None
            if not isinstance(parsed, dict):
                raise ValueError(f"{nested}: must be a JSON object")
            extra.update(parsed)
        elif column in top_level:
            record[column] = value
        else:
            extra[column] = value
    if extra:
        record[nested] = extra
    return record
