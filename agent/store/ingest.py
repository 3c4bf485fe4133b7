"""Event ingest: validated per event, idempotent by event id, one transaction per batch.

A bad event is rejected with its reason; the valid events of the same batch are kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select

from agent.playbook import Playbook, fingerprint
from agent.store.database import Database
from agent.store.schema import EventRow, LeadRow
from agent.store.upsert import insert_ignoring_duplicates
from agent.store.values import (
    printable_id,
    shown,
    storable_json,
    storable_keys,
    storable_text,
)
from agent.timeline import classify, signal_points

MAX_CLOCK_SKEW = timedelta(minutes=5)
_LOOKUP_CHUNK = 900  # stays under SQLite's bound-parameter limit

Status = Literal["stored", "duplicate", "rejected"]


class EventIn(BaseModel):
    """One event as a client sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=160,
        description="Client-given id: the same id twice is stored once.",
    )
    lead_id: str = Field(min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime = Field(description="ISO 8601 with a UTC offset.")
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _storable_keys(cls, value: object) -> object:
        return storable_keys(value)

    # before pydantic's own checks: they refuse a lone surrogate with no usable reason and let
    # NUL through to PostgreSQL
    @field_validator("id", "lead_id", "type", mode="before")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        return storable_text(value)

    @field_validator("id", "lead_id")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return printable_id(value)  # after trimming: surrounding whitespace is trimmed

    @field_validator("properties", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        return storable_json(value)


@dataclass(frozen=True, slots=True)
class ItemResult:
    index: int
    id: str | None
    status: Status
    reason: str | None = None


@dataclass(slots=True)
class IngestReport:
    results: list[ItemResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def rejected(self) -> list[ItemResult]:
        return [r for r in self.results if r.status == "rejected"]


def ingest_events(
    db: Database,
    items: Sequence[object],  # parsed JSON: an item may be any value, and is refused alone
    playbook: Playbook,
    *,
    now: datetime | None = None,
) -> IngestReport:
    now = now or datetime.now(UTC)
    results: dict[int, ItemResult] = {}
    accepted: dict[str, tuple[int, EventIn, str]] = {}
    for index, raw in enumerate(items):
        outcome = _check(index, raw, playbook, now)
        if isinstance(outcome, ItemResult):
            results[index] = outcome
            continue
        event, signal = outcome
        event_id = event.id or derived_event_id(event)
        if event_id in accepted:
            results[index] = ItemResult(
                index, event_id, "duplicate", "same id earlier in this batch"
            )
            continue
        accepted[event_id] = (index, event, signal)

    derived_by = fingerprint(playbook)
    with db.session() as session:
        known_leads = _existing(session, LeadRow.id, {e.lead_id for _, e, _ in accepted.values()})
        stored_ids = _existing(session, EventRow.id, set(accepted))
        rows = []
        for event_id, (index, event, signal) in accepted.items():
            if event.lead_id not in known_leads:
                results[index] = ItemResult(
                    index, event_id, "rejected", f"lead_id: unknown lead '{event.lead_id}'"
                )
            elif event_id in stored_ids:
                results[index] = ItemResult(index, event_id, "duplicate", "already stored")
            else:
                rows.append(_row(event_id, event, signal, playbook, derived_by, now))
                results[index] = ItemResult(index, event_id, "stored")
        if rows:
            insert_ignoring_duplicates(session, EventRow, rows)
    return IngestReport([results[i] for i in sorted(results)])


def derived_event_id(event: EventIn) -> str:
    """An id from the event's content, so re-sending an id-less event does not store it twice."""
    body = json.dumps(
        [
            event.lead_id,
            event.type,
            event.occurred_at.astimezone(UTC).isoformat(),
            event.properties,
        ],
        sort_keys=True,
        default=str,
    )
    return "h-" + hashlib.sha256(body.encode()).hexdigest()[:32]


def event_rejection(raw: object, playbook: Playbook, now: datetime) -> str | None:
    """Why this event would be rejected whatever its lead (its shape, its time, its type), or
    None: for events kept until their lead is known, which must not wait for nothing."""
    outcome = _check(0, raw, playbook, now)
    return outcome.reason if isinstance(outcome, ItemResult) else None


def _check(
    index: int, raw: object, playbook: Playbook, now: datetime
) -> ItemResult | tuple[EventIn, str]:
    try:
        event = EventIn.model_validate(raw)
    except ValidationError as exc:
        return ItemResult(index, reported_id(raw), "rejected", validation_reason(exc))
    if event.occurred_at > now + MAX_CLOCK_SKEW:
        return ItemResult(
            index, event.id, "rejected", "occurred_at: more than 5 minutes in the future"
        )
    signal = classify(event.type, event.properties, playbook)
    if signal is None:
        return ItemResult(
            index,
            event.id,
            "rejected",
            f"type: unknown event type '{event.type}' (not a playbook signal, and no "
            "event_mappings rule matches it)",
        )
    return event, signal


def reported_id(raw: object) -> str | None:
    """The id of a rejected item as its result reports it: escaped, since it may hold the very
    text that got it rejected, and the report must still encode as UTF-8."""
    raw_id = raw.get("id") if isinstance(raw, Mapping) else None
    return shown(raw_id) if isinstance(raw_id, str) else None


def validation_reason(exc: ValidationError) -> str:
    """One line naming each bad field and why (a key holding NUL or a lone surrogate is
    shown escaped).

    Example: `occurred_at: Input should have timezone info`."""
    parts = []
    for err in exc.errors():
        where = ".".join(shown(str(p)) for p in err["loc"]) or "(item)"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _existing(session: Any, column: Any, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    found: set[str] = set()
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _row(
    event_id: str, event: EventIn, signal: str, playbook: Playbook, derived_by: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": event_id,
        "lead_id": event.lead_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "properties": event.properties,
        "received_at": now,
        "signal": signal,
        "points": signal_points(signal, event.properties, playbook),
        "half_life_days": playbook.half_life(signal),
        "derived_by": derived_by,
    }
