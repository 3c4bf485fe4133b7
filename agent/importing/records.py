"""Reads lead and event files (JSONL or delimited text) into records, remembering each record's
line. Files with a mapping are read by `mapped.py`; this is the project's own format."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any, Literal

from agent.errors import NurtureError
from agent.importing.columns import missing_column
from agent.importing.text_files import dict_reader, open_text
from agent.store.values import LONE_SURROGATE

Kind = Literal["leads", "events"]
_TOP_LEVEL: dict[Kind, tuple[set[str], str]] = {
    "leads": ({"id", "email", "name", "company", "owner", "do_not_contact"}, "attributes"),
    "events": ({"id", "lead_id", "lead_email", "type", "occurred_at"}, "properties"),
}
_REQUIRED: dict[Kind, tuple[str, ...]] = {
    "leads": ("id", "email"),
    "events": ("type", "occurred_at"),
}
DELIMITED = (".csv", ".tsv", ".txt")
FROM_HINT = (
    "a CRM or analytics export? read it with --from hubspot, --from salesforce or --from ga4, "
    "or with a mapping of your own: --mapping FILE"
)


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    record: dict[str, Any] | None
    error: str | None = None
    skipped: bool = False
    """Left out on purpose by the mapping's `skip` (counted, not rejected)."""


def read_lines(path: Path, kind: Kind, *, zone: tzinfo | None = None) -> Iterator[Line]:
    """Records from a .jsonl/.ndjson/.json file (one object a line) or a .csv/.tsv/.txt file.
    `zone` is the zone of an event time written without one."""
    suffix = checked_suffix(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl(path, kind, zone)
    return _delimited(path, kind, zone)


def checked_suffix(path: Path) -> str:
    if not path.is_file():
        raise NurtureError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".json", *DELIMITED):
        raise NurtureError(f"{path}: unknown file type '{suffix}' (use .jsonl, .csv or .tsv)")
    return suffix


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


# Bytes that are not UTF-8 are read as lone surrogates (surrogateescape), so such a line is
# rejected on its own instead of stopping the import half way with a decoding error.
NOT_UTF8 = "not valid UTF-8 (save the file as UTF-8)"


def _jsonl(path: Path, kind: Kind, zone: tzinfo | None) -> Iterator[Line]:
    # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the first object
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as handle:
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
            yield Line(number, with_zone(record, kind, zone))


def _delimited(path: Path, kind: Kind, zone: tzinfo | None) -> Iterator[Line]:
    """Checks the header now (a missing column is a usage error, before anything is stored);
    the rows are read as they are asked for."""
    handle = open_text(path)
    try:
        reader = dict_reader(handle)
        header = list(reader.fieldnames or [])
        if any(LONE_SURROGATE.search(name) for name in header):
            raise NurtureError(f"{path}: the header line is {NOT_UTF8}")
        _check_header(path, kind, header)
    except BaseException:
        handle.close()
        raise
    return _rows(handle, reader, kind, zone)


def _check_header(path: Path, kind: Kind, header: list[str]) -> None:
    missing = [missing_column(name, name, header) for name in _REQUIRED[kind] if name not in header]
    if kind == "events" and "lead_id" not in header and "lead_email" not in header:
        missing.append(missing_column("lead_id", "lead_id", header) + " (or lead_email)")
    if missing:
        raise NurtureError(
            f"{path}: the file lacks columns every line needs:\n  "
            + "\n  ".join(missing)
            + f"\n({FROM_HINT})"
        )


def _rows(
    handle: IO[str], reader: csv.DictReader[str], kind: Kind, zone: tzinfo | None
) -> Iterator[Line]:
    top_level, nested = _TOP_LEVEL[kind]
    with handle:
        for row in reader:
            number = reader.line_num
            if any(LONE_SURROGATE.search(cell) for cell in row.values() if isinstance(cell, str)):
                yield Line(number, None, NOT_UTF8)
                continue
            try:
                record = _csv_record(row, top_level, nested)
            except ValueError as exc:
                yield Line(number, None, str(exc))
                continue
            yield Line(number, with_zone(record, kind, zone))


def _csv_record(
    row: Mapping[str | None, str | None], top_level: set[str], nested: str
) -> dict[str, Any]:
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


def with_zone(record: dict[str, Any], kind: Kind, zone: tzinfo | None) -> dict[str, Any]:
    """An event whose ISO time names no zone, in `zone` (`--timezone`); anything else as is
    (a time that is not ISO is left for the event's own check to refuse)."""
    occurred = record.get("occurred_at")
    if kind != "events" or zone is None or not isinstance(occurred, str):
        return record
    try:
        parsed = datetime.fromisoformat(occurred.strip())
    except ValueError:
        return record
    if parsed.tzinfo is not None:
        return record
    return {**record, "occurred_at": parsed.replace(tzinfo=zone).isoformat()}
