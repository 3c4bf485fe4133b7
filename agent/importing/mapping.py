"""Import mappings: which column (or columns) of a file fills each lead or event field,
attribute or property, and how its text is read. Written in YAML by a marketer, or shipped as a
preset for the standard exports (`presets/*.yaml`: HubSpot, Salesforce, GA4).

A mistake is an error naming the file, line and YAML path, never a silent skip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import NurtureError
from agent.importing.records import Kind
from agent.importing.values import EpochUnit
from agent.playbook.loader import Problem, error_message, problem_at

PRESETS_DIR = Path(__file__).parent / "presets"
Scalar = str | int | float | bool
ColumnName = Annotated[str, Field(min_length=1)]
Columns = ColumnName | list[ColumnName]
"""One column, or alternatives: the first the file has is read (export tools name a column
differently: Salesforce's report says "Lead ID", its Data Loader "Id")."""
Transform = Literal["trim", "lower", "upper"]
ValueType = Literal["text", "integer", "number", "boolean", "datetime"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where one value comes from and how its text is read. Cell text is always trimmed; an
    empty cell gives no value."""

    column: Columns | None = None
    join: list[Columns] | None = Field(
        default=None, min_length=1, description="Columns joined with `separator` (names)."
    )
    separator: str = " "
    transform: list[Transform] = Field(default_factory=list)
    values: dict[str, Scalar | None] | None = Field(
        default=None,
        description="A table of labels (compared without case) to values, read before `type`; "
        "a label mapped to null gives no value.",
    )
    otherwise: Literal["keep", "drop"] = Field(
        default="keep", description="A label the table lacks: kept as written, or dropped."
    )
    type: ValueType = "text"
    decimal: Literal[".", ","] = "."
    format: list[str] = Field(
        default_factory=list,
        description="datetime: strptime formats tried in order after ISO 8601 (the first that "
        "reads wins: put the locale's day/month order first).",
    )
    timezone: str | None = Field(
        default=None, description="datetime: the zone of a time written without one."
    )
    epoch_unit: EpochUnit | None = Field(
        default=None, description="datetime: digits count s, ms or us since the epoch (UTC)."
    )

    @field_validator("format", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        if (self.column is None) == (self.join is None):
            raise ValueError("give exactly one of: column, join")
        return self

    def alternatives(self) -> list[list[str]]:
        """Each column the value reads, as its alternative names."""
        if self.column is not None:
            return [_names(self.column)]
        return [_names(member) for member in self.join or []]


def _names(columns: Columns) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


class LeadFieldSources(_Strict):
    id: Source | None = None
    email: Source | None = None
    name: Source | None = None
    company: Source | None = None
    owner: Source | None = None
    do_not_contact: Source | None = Field(
        default=None,
        description="Read by the one do-not-contact rule: anything but an explicit no is a yes.",
    )


class EventFieldSources(_Strict):
    id: Source | None = None
    lead_id: Source | None = None
    lead_email: Source | None = None
    type: Source | None = None
    occurred_at: Source | None = None


class _Mapping(_Strict):
    description: str | None = None
    skip: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Rows whose column holds one of these values are skipped (counted, not "
        "rejected): e.g. GA4's session_start.",
    )
    ignore: list[str] = Field(
        default_factory=list, description="Columns deliberately not imported (not warned about)."
    )
    keep_unmapped: bool = Field(
        default=False,
        description="Other columns become attributes/properties under their own names.",
    )


class LeadsMapping(_Mapping):
    kind: Literal["leads"]
    fields: LeadFieldSources = Field(default_factory=LeadFieldSources)
    attributes: dict[str, Source] = Field(default_factory=dict)

    def extras(self) -> dict[str, Source]:
        return self.attributes


class EventsMapping(_Mapping):
    kind: Literal["events"]
    fields: EventFieldSources = Field(default_factory=EventFieldSources)
    properties: dict[str, Source] = Field(default_factory=dict)

    def extras(self) -> dict[str, Source]:
        return self.properties


ImportMapping = Annotated[LeadsMapping | EventsMapping, Field(discriminator="kind")]


class _File(BaseModel):
    mapping: ImportMapping


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{name}' (an IANA name such as Europe/Berlin or UTC)"
        ) from None


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str, kind: Kind) -> LeadsMapping | EventsMapping:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise NurtureError(f"--from {name}: no such preset ({', '.join(preset_names())})")
    mapping = _load(path)
    if mapping.kind != kind:
        raise NurtureError(
            f"--from {name} reads {mapping.kind}, not {kind}: "
            f"nurture import {mapping.kind} FILE --from {name}"
        )
    return mapping


def load_mapping(path: Path, kind: Kind) -> LeadsMapping | EventsMapping:
    """The mapping in `path`, for `kind`; a NurtureError listing every problem otherwise."""
    mapping = _load(path)
    if mapping.kind != kind:
        raise NurtureError(f"{path}: this mapping is for {mapping.kind}, not {kind}")
    return mapping


def _load(path: Path) -> LeadsMapping | EventsMapping:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NurtureError(f"cannot read mapping {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        raise NurtureError(f"{path}: not valid UTF-8 (save the mapping as UTF-8)") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise NurtureError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None or not isinstance(data, dict):
        raise NurtureError(f"{path}: a mapping is a YAML object with kind, fields, ...")
    try:
        mapping = _File.model_validate({"mapping": data}).mapping
    except ValidationError as exc:
        problems = [
            problem_at(root, _yaml_loc(err["loc"]), error_message(err)) for err in exc.errors()
        ]
        raise NurtureError(_render(path, problems)) from None
    return mapping


def _yaml_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The error's place in the YAML: without the wrapper's key and the union's tag."""
    inner = loc[1:]
    return inner[1:] if inner[:1] in (("leads",), ("events",)) else inner


def _render(path: Path, problems: list[Problem]) -> str:
    lines = [p.render(str(path)) for p in problems]
    return f"{len(problems)} problem(s) in the mapping:\n" + "\n".join(lines)


def overlaid(
    base: LeadsMapping | EventsMapping, top: LeadsMapping | EventsMapping
) -> LeadsMapping | EventsMapping:
    """`base` (a preset) with what `top` (the user's mapping) says on top: its fields,
    attributes or properties replace the preset's of the same name; skip and ignore add up."""
    fields = {
        **base.fields.model_dump(exclude_none=True),
        **top.fields.model_dump(exclude_none=True),
    }
    merged = {
        "kind": base.kind,
        "description": top.description or base.description,
        "fields": fields,
        "skip": {**base.skip, **top.skip},
        "ignore": [*base.ignore, *top.ignore],
        "keep_unmapped": top.keep_unmapped or base.keep_unmapped,
        ("attributes" if base.kind == "leads" else "properties"): {
            name: source.model_dump(exclude_none=True)
            for name, source in {**base.extras(), **top.extras()}.items()
        },
    }
    return _File.model_validate({"mapping": merged}).mapping
