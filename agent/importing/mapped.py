"""Reads a delimited file through a mapping: each row becomes the lead or event record the
store takes, with every value read as the mapping says. A value that cannot be read rejects its
line with the column and the reason; the other lines are kept."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from agent.contact import says_do_not_contact
from agent.errors import NurtureError
from agent.importing.columns import find_column, missing_column
from agent.importing.mapping import EventsMapping, LeadsMapping, Source, zone
from agent.importing.records import NOT_UTF8, Line, checked_suffix
from agent.importing.text_files import dict_reader, open_text
from agent.importing.values import as_boolean, as_datetime, as_integer, as_number
from agent.store.values import LONE_SURROGATE

_REQUIRED_FIELDS = {"leads": ("id", "email"), "events": ("type", "occurred_at")}


@dataclass(frozen=True, slots=True)
class _Target:
    """One value of the record: a field, or an attribute/property (`nested`)."""

    name: str
    source: Source
    columns: list[str]  # as the file names them
    nested: bool
    table: dict[str, Any] | None  # the value table, by folded label

    @property
    def column(self) -> str:
        return self.columns[0]


@dataclass(slots=True)
class MappedFile:
    """The lines of a mapped file, and what the user should know before they are read."""

    lines: Iterator[Line]
    warnings: list[str] = field(default_factory=list)


def read_mapped(
    path: Path, mapping: LeadsMapping | EventsMapping, *, zone_option: tzinfo | None
) -> MappedFile:
    """Checks the header against the mapping now (a required column missing is a usage error,
    before anything is stored); the rows are read as they are asked for."""
    if checked_suffix(path) not in (".csv", ".tsv", ".txt"):
        raise NurtureError(f"{path}: a mapping reads .csv or .tsv files")
    handle = open_text(path)
    try:
        reader = dict_reader(handle)
        header = [name for name in reader.fieldnames or [] if name]
        if any(LONE_SURROGATE.search(name) for name in header):
            raise NurtureError(f"{path}: the header line is {NOT_UTF8}")
        targets, warnings = _plan(path, mapping, header)
    except BaseException:
        handle.close()
        raise
    unmapped = _unmapped(mapping, header, targets)
    if unmapped and not mapping.keep_unmapped:
        names = ", ".join(f"'{name}'" for name in unmapped)
        warnings.append(
            f"columns not imported: {names} (read them in a mapping, or list them under ignore)"
        )
    keep = unmapped if mapping.keep_unmapped else []
    skip = _skip_rules(mapping, header)
    rows = _rows(handle, reader, mapping, targets, keep, skip, zone_option)
    return MappedFile(rows, warnings)


def _plan(
    path: Path, mapping: LeadsMapping | EventsMapping, header: list[str]
) -> tuple[list[_Target], list[str]]:
    targets: list[_Target] = []
    missing_required: list[str] = []
    missing_optional: list[str] = []
    sources = [
        *((name, source, False) for name, source in _fields(mapping).items()),
        *((name, source, True) for name, source in mapping.extras().items()),
    ]
    for name, source, nested in sources:
        found = [find_column(names, header) for names in source.alternatives()]
        columns = [column for column in found if column is not None]
        if not columns:
            first = source.alternatives()[0][0]
            if not nested and name in _REQUIRED_FIELDS[mapping.kind]:
                missing_required.append(missing_column(name, first, header))
            else:
                missing_optional.append(f"{name} ('{first}')")
            continue
        table = None
        if source.values is not None:
            table = {label.strip().casefold(): value for label, value in source.values.items()}
        targets.append(_Target(name, source, columns, nested, table))
    if mapping.kind == "events" and not any(t.name in ("lead_id", "lead_email") for t in targets):
        missing_required.append("lead_id or lead_email: the mapping reads neither from this file")
    if missing_required:
        raise NurtureError(
            f"{path}: the file lacks columns the mapping needs:\n  " + "\n  ".join(missing_required)
        )
    warnings = []
    if missing_optional:
        warnings.append("the file has no column for: " + ", ".join(missing_optional))
    return targets, warnings


def _fields(mapping: LeadsMapping | EventsMapping) -> dict[str, Source]:
    return {name: source for name, source in mapping.fields if source is not None}


def _unmapped(
    mapping: LeadsMapping | EventsMapping, header: list[str], targets: list[_Target]
) -> list[str]:
    used = {column for target in targets for column in target.columns}
    for name in [*mapping.ignore, *mapping.skip]:
        column = find_column([name], header)
        if column is not None:
            used.add(column)
    return [column for column in header if column not in used]


def _skip_rules(mapping: LeadsMapping | EventsMapping, header: list[str]) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for name, values in mapping.skip.items():
        column = find_column([name], header)
        if column is not None:
            rules[column] = {value.strip().casefold() for value in values}
    return rules


def _rows(
    handle: IO[str],
    reader: csv.DictReader[str],
    mapping: LeadsMapping | EventsMapping,
    targets: list[_Target],
    keep: list[str],
    skip: dict[str, set[str]],
    zone_option: tzinfo | None,
) -> Iterator[Line]:
    nested_name = "attributes" if mapping.kind == "leads" else "properties"
    with handle:
        for row in reader:
            number = reader.line_num
            if None in row:
                yield Line(number, None, "more cells than the header has columns")
                continue
            if any(LONE_SURROGATE.search(cell) for cell in row.values() if isinstance(cell, str)):
                yield Line(number, None, NOT_UTF8)
                continue
            if any(_cell(row, column).casefold() in values for column, values in skip.items()):
                yield Line(number, None, skipped=True)
                continue
            try:
                record = _record(row, mapping.kind, targets, keep, nested_name, zone_option)
            except ValueError as exc:
                yield Line(number, None, str(exc))
                continue
            yield Line(number, record)


def _cell(row: Mapping[str | None, Any], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _record(
    row: Mapping[str | None, Any],
    kind: str,
    targets: list[_Target],
    keep: list[str],
    nested_name: str,
    zone_option: tzinfo | None,
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    nested: dict[str, Any] = {column: _cell(row, column) for column in keep if _cell(row, column)}
    for target in targets:
        value = _value(row, target, zone_option)
        if target.name == "do_not_contact" and not target.nested:
            # the one rule: anything but an explicit no (or an empty cell) is a do-not-contact
            value = says_do_not_contact(False, {"do_not_contact": value})
        if value is None:
            if not target.nested and target.name in _REQUIRED_FIELDS[kind]:
                raise ValueError(f"{target.name}: no value in column '{target.column}'")
            continue
        if isinstance(value, datetime):
            value = _time_text(value, target, is_event_time=kind == "events" and not target.nested)
        (nested if target.nested else record)[target.name] = value
    if nested:
        record[nested_name] = nested
    return record


def _value(row: Mapping[str | None, Any], target: _Target, zone_option: tzinfo | None) -> Any:
    source = target.source
    parts = [_cell(row, column) for column in target.columns]
    text = source.separator.join(part for part in parts if part)
    for step in source.transform:
        text = text.lower() if step == "lower" else text.upper() if step == "upper" else text
    if not text:
        return None
    if target.table is not None:
        folded = text.strip().casefold()
        if folded in target.table:
            return target.table[folded]
        if source.otherwise == "drop":
            return None
    try:
        return _typed(text, source, zone_option)
    except ValueError as exc:
        raise ValueError(f"{target.column}: {exc}") from None


def _typed(text: str, source: Source, zone_option: tzinfo | None) -> Any:
    if source.type == "integer":
        return as_integer(text)
    if source.type == "number":
        return as_number(text, source.decimal)
    if source.type == "boolean":
        return as_boolean(text)
    if source.type == "datetime":
        own_zone = zone(source.timezone) if source.timezone else None
        return as_datetime(
            text, source.format, epoch_unit=source.epoch_unit, zone=own_zone or zone_option
        )
    return text


def _time_text(value: datetime, target: _Target, *, is_event_time: bool) -> str:
    """ISO 8601. An event's time must say its zone; a lead's dates may stay as written."""
    if value.tzinfo is None and is_event_time:
        raise ValueError(
            f"{target.column}: '{value.isoformat(sep=' ')}' has no time zone (pass --timezone "
            "ZONE, e.g. --timezone Europe/Berlin, or set timezone in the mapping)"
        )
    return value.isoformat()
