"""A mail-system event in one shape, whichever provider sent it, and how it lands on the
timeline: matched to our send by Message-ID (else to a lead by address), stored as the signal
its kind maps to, once per provider event id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from agent.playbook import Playbook
from agent.store.database import Database
from agent.store.ingest import ingest_events
from agent.store.leads import lead_ids_by_email
from agent.store.schema import SendRow

Kind = Literal["delivered", "bounce", "complaint", "unsubscribe", "open", "click", "reply"]

SIGNALS: dict[Kind, str] = {
    "delivered": "email_delivered",
    "bounce": "email_bounce",
    "complaint": "spam_complaint",
    "unsubscribe": "unsubscribe",
    "open": "email_open",
    "click": "email_click",
    "reply": "email_reply",
}
"""The playbook signal each kind is stored as (the default playbook has them all)."""

MAX_EVENT_ID = 160  # events.id


@dataclass(frozen=True)
class MailEvent:
    provider: str
    provider_event_id: str
    kind: Kind
    occurred_at: datetime
    message_ids: tuple[str, ...] = ()
    """Our Message-IDs it is about (a reply: In-Reply-To then References), with or without <>."""
    address: str | None = None
    """The recipient's (or replier's) address: the fallback when no Message-ID matches."""
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """The timeline event's id, from the provider's: the same event posted twice is one."""
        raw = f"{self.provider}-{self.kind}-{self.provider_event_id}"
        if len(raw) <= MAX_EVENT_ID:
            return raw
        return f"{self.provider}-{self.kind}-" + hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Recorded:
    """What became of one mail event: stored, duplicate, unmatched (no send or lead of ours),
    or rejected (the playbook has no such signal, or the event is malformed)."""

    event_id: str
    kind: str
    status: str
    lead_id: str | None = None
    matched_by: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def normalise_message_id(value: str) -> str:
    bare = value.strip().strip("<>").strip()
    return f"<{bare}>" if bare else ""


def match_leads(db: Database, events: Sequence[MailEvent]) -> list[tuple[str, str] | None]:
    """For each event, (lead id, how it was matched: message_id or address), or None."""
    wanted = {normalise_message_id(m) for e in events for m in e.message_ids} - {""}
    by_message: dict[str, str] = {}
    if wanted:
        with db.session() as session:
            rows = session.execute(
                select(SendRow.message_id, SendRow.lead_id).where(SendRow.message_id.in_(wanted))
            )
            by_message = {message_id: lead_id for message_id, lead_id in rows}
    by_address = lead_ids_by_email(db, [e.address for e in events if e.address])
    found: list[tuple[str, str] | None] = []
    for event in events:
        ids = (normalise_message_id(m) for m in event.message_ids)
        lead_id = next((by_message[m] for m in ids if m in by_message), None)
        if lead_id is not None:
            found.append((lead_id, "message_id"))
            continue
        leads = by_address.get((event.address or "").strip().lower(), [])
        # an address two leads share names neither for sure: better unmatched than wrong
        found.append((leads[0], "address") if len(leads) == 1 else None)
    return found


def record_mail_events(
    db: Database, playbook: Playbook, events: Iterable[MailEvent], *, now: datetime
) -> list[Recorded]:
    """Stores each event that matches a lead of ours on its timeline; returns each one's fate
    in order. Every valid event is kept, whatever its siblings are."""
    events = list(events)
    matches = match_leads(db, events)
    items: list[dict[str, Any]] = []
    positions: list[int] = []
    results: list[Recorded | None] = []
    for event, match in zip(events, matches, strict=True):
        if match is None:
            results.append(
                Recorded(event.event_id, event.kind, "unmatched", reason=_unmatched(event))
            )
            continue
        lead_id, how = match
        properties = {**event.properties, "provider": event.provider, "matched_by": how}
        if event.message_ids:
            properties["message_id"] = normalise_message_id(event.message_ids[0])
        items.append(
            {
                "id": event.event_id,
                "lead_id": lead_id,
                "type": SIGNALS[event.kind],
                "occurred_at": min(event.occurred_at, now).isoformat(),
                "properties": {k: v for k, v in properties.items() if v is not None},
            }
        )
        positions.append(len(results))
        results.append(Recorded(event.event_id, event.kind, "pending", lead_id, how))
    report = ingest_events(db, items, playbook, now=now)
    for position, result in zip(positions, report.results, strict=True):
        before = results[position]
        assert before is not None
        results[position] = Recorded(
            before.event_id,
            before.kind,
            result.status,
            before.lead_id,
            before.matched_by,
            result.reason,
        )
    return [r for r in results if r is not None]


def _unmatched(event: MailEvent) -> str:
    ids = ", ".join(event.message_ids) or "no Message-ID"
    return f"no send of ours with {ids}, and no single lead with address {event.address!r}"
