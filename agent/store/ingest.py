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
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select

from agent.accounts import company_domain
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
from agent.web_urls import with_url_parts

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
    lead_id: str | None = Field(default=None, min_length=1, max_length=128)
    lead_email: EmailStr | None = Field(
        default=None,
        description="The lead's address, instead of lead_id (any letter case): for sources that "
        "know people by email, such as analytics exports.",
    )
    type: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime = Field(description="ISO 8601 with a UTC offset.")
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _storable_keys(cls, value: object) -> object:
        return storable_keys(value)

    # before pydantic's own checks: they refuse a lone surrogate with no usable reason and let
    # NUL through to PostgreSQL
    @field_validator("id", "lead_id", "lead_email", "type", mode="before")
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

    def who(self) -> str:
        """The lead as the event names it: its id, or its address in lower case."""
        return self.lead_id or f"email:{str(self.lead_email).lower()}"


@dataclass(frozen=True, slots=True)
class ItemResult:
    index: int
    id: str | None
    status: Status
    reason: str | None = None
    lead_id: str | None = None
    """The lead a stored event went to (found by its address when it named one)."""


@dataclass(slots=True)
class IngestReport:
    results: list[ItemResult] = field(default_factory=list)
    created_leads: int = 0
    """Leads created for unknown addresses (`create_leads`)."""

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
    create_leads: bool = False,
) -> IngestReport:
    """Stores the valid events of `items` in one transaction. An event naming its lead by
    `lead_email` goes to the one lead with that address; with `create_leads`, an unknown address
    becomes a new lead (with only its address)."""
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

    emails = {str(e.lead_email) for _, e, _ in accepted.values() if e.lead_id is None}
    by_email = _leads_by_email(db, emails, create=create_leads)
    new_leads = [
        _new_lead_row(email, found.lead_id, playbook, now)
        for email, found in by_email.items()
        if found.lead_id is not None and found.created
    ]
    derived_by = fingerprint(playbook)
    with db.session() as session:
        if new_leads:
            insert_ignoring_duplicates(session, LeadRow, new_leads)
        named = {e.lead_id for _, e, _ in accepted.values() if e.lead_id is not None}
        known_leads = _existing(session, LeadRow.id, named)
        stored_ids = _existing(session, EventRow.id, set(accepted))
        rows = []
        for event_id, (index, event, signal) in accepted.items():
            lead_id, problem = _lead_of(event, known_leads, by_email)
            if lead_id is None:
                results[index] = ItemResult(index, event_id, "rejected", problem)
            elif event_id in stored_ids:
                results[index] = ItemResult(index, event_id, "duplicate", "already stored")
            else:
                rows.append(_row(event_id, lead_id, event, signal, playbook, derived_by, now))
                results[index] = ItemResult(index, event_id, "stored", lead_id=lead_id)
        if rows:
            insert_ignoring_duplicates(session, EventRow, rows)
    return IngestReport([results[i] for i in sorted(results)], len(new_leads))


@dataclass(frozen=True, slots=True)
class _Found:
    """The lead an address names: its id (created now, or not), or why it names none."""

    lead_id: str | None
    created: bool = False
    problem: str | None = None


_ByEmail = dict[str, _Found]  # by lower-case address


def _leads_by_email(db: Database, emails: set[str], *, create: bool) -> _ByEmail:
    # imported here: agent.store.leads builds on this module's report types
    from agent.store.leads import lead_ids_by_email

    found = lead_ids_by_email(db, emails)
    answer: _ByEmail = {}
    for email in emails:
        key = email.strip().lower()
        ids = found.get(key, [])
        if len(ids) == 1:
            answer[key] = _Found(ids[0])
        elif len(ids) > 1:
            shared = ", ".join(ids)
            answer[key] = _Found(
                None,
                problem=f"lead_email: '{key}' is the address of {len(ids)} leads ({shared}): "
                "ambiguous, name the lead by lead_id",
            )
        elif create:
            answer[key] = _Found(created_lead_id(key), created=True)
        else:
            answer[key] = _Found(
                None,
                problem=f"lead_email: no lead has the address '{key}' "
                "(import it with --create-leads to create one)",
            )
    return answer


def created_lead_id(email: str) -> str:
    """The id of a lead created for an address: derived from it, so two imports (or two
    processes) naming the same new address create one lead."""
    return "lead-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]


def _new_lead_row(
    email: str, lead_id: str | None, playbook: Playbook, now: datetime
) -> dict[str, Any]:
    return {
        "id": lead_id,
        "email": email,
        "account": company_domain(email),
        "attributes": {},
        "do_not_contact": False,
        "fit_points": 0.0,  # no attributes: no fit rule can hold
        "derived_by": fingerprint(playbook),
        "created_at": now,
        "updated_at": now,
    }


def _lead_of(
    event: EventIn, known_leads: set[str], by_email: _ByEmail
) -> tuple[str | None, str | None]:
    if event.lead_id is not None:
        if event.lead_id in known_leads:
            return event.lead_id, None
        return None, f"lead_id: unknown lead '{event.lead_id}'"
    found = by_email[str(event.lead_email).strip().lower()]
    return found.lead_id, found.problem


def derived_event_id(event: EventIn) -> str:
    """An id from the event's content, so re-sending an id-less event does not store it twice."""
    body = json.dumps(
        [
            event.who(),
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
    if event.lead_id is None and event.lead_email is None:
        return ItemResult(
            index, event.id, "rejected", "lead_id or lead_email: one of them is required"
        )
    if event.lead_id is not None and event.lead_email is not None:
        return ItemResult(
            index, event.id, "rejected", "lead_id and lead_email: give one of them, not both"
        )
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
    event_id: str,
    lead_id: str,
    event: EventIn,
    signal: str,
    playbook: Playbook,
    derived_by: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": event_id,
        "lead_id": lead_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        # stored as the rules read them: a URL's path in `path`, its utm_* values beside it
        "properties": dict(with_url_parts(event.properties)),
        "received_at": now,
        "signal": signal,
        "points": signal_points(signal, event.properties, playbook),
        "half_life_days": playbook.half_life(signal),
        "derived_by": derived_by,
    }
