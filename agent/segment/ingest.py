"""Segment messages into leads, events, pending anonymous events and rejections.

Messages are taken in the order sent (an identify changes who the next messages are about):
track and page become events of their lead, through the same ingest as our own API
(idempotent by messageId, mapped to signals by the playbook); identify creates or updates the
lead from its traits; identify and alias link an anonymousId or userId to the lead and move the
events kept under it onto the lead. Nothing is dropped: an event whose lead is not known yet is
kept in `pending_events`, and a message that cannot be stored is recorded with its reason."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.playbook import Playbook
from agent.segment.messages import Message, Rejection, read_message
from agent.segment.traits import lead_fields
from agent.store.database import Database
from agent.store.identities import (
    IdKind,
    forget_pending,
    hand_pending_to,
    is_stored_event,
    keep_pending,
    lead_exists,
    link,
    linked_lead,
    pending_for,
)
from agent.store.ingest import EventIn, event_rejection, ingest_events
from agent.store.leads import lead_ids_by_email, load_lead, upsert_leads
from agent.store.rejections import Rejected, record_rejections

SOURCE = "segment"
PLACEHOLDER_LEAD = "pending"  # to check an event before its lead is known


@dataclass(slots=True)
class SegmentReport:
    stored: int = 0
    """Events stored on their lead (including kept ones an identify or alias attached)."""
    duplicate: int = 0
    pending: int = 0
    """Events kept until an identify or alias names their lead."""
    identified: int = 0
    """identify and alias messages applied."""
    rejected: int = 0
    leads: set[str] = field(default_factory=set)
    """Leads with new events or traits: to decide again."""


def ingest_segment_messages(
    db: Database,
    items: Sequence[object],  # parsed JSON: any item may be any value, and is refused alone
    playbook: Playbook,
    *,
    now: datetime | None = None,
    batch_context: Mapping[str, Any] | None = None,
) -> SegmentReport:
    run = _Run(db, playbook, now or datetime.now(UTC))
    for raw in items:
        run.take(raw, batch_context)
    run.flush()
    record_rejections(db, run.rejected, run.now)
    run.report.rejected = len(run.rejected)
    return run.report


def derived_lead_id(email: str) -> str:
    """The id of a lead an anonymous identify creates (it names no userId): from the address,
    so the same person identified twice is one lead."""
    return "seg-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]


class _Run:
    def __init__(self, db: Database, playbook: Playbook, now: datetime) -> None:
        self.db, self.playbook, self.now = db, playbook, now
        self.report = SegmentReport()
        self.rejected: list[Rejected] = []
        self._events: list[tuple[Message, object, dict[str, Any]]] = []
        self._leads: dict[tuple[str | None, str | None, str | None], str | None] = {}

    def take(self, raw: object, batch_context: Mapping[str, Any] | None) -> None:
        message = read_message(raw, batch_context)
        if isinstance(message, Rejection):
            kind = raw.get("type") if isinstance(raw, Mapping) else None
            self._reject(raw, str(kind) if kind is not None else None, message)
        elif message.kind in ("track", "page"):
            self._event(message, raw)
        else:
            self.flush()  # the events before it are about whoever they were about then
            if message.kind == "identify":
                self._identify(message, raw)
            else:
                self._alias(message, raw)
            self._leads.clear()

    def flush(self) -> None:
        """Stores the events taken so far in one transaction."""
        if not self._events:
            return
        batch, self._events = self._events, []
        report = ingest_events(self.db, [e for _, _, e in batch], self.playbook, now=self.now)
        for result in report.results:
            message, raw, event = batch[result.index]
            if result.status == "stored":
                self.report.stored += 1
                self.report.leads.add(event["lead_id"])
            elif result.status == "duplicate":
                self.report.duplicate += 1
            else:
                self._reject(raw, message.kind, _event_rejection(result.reason or "rejected"))

    def _event(self, message: Message, raw: object) -> None:
        lead_id = self._lead_of(message)
        if lead_id is not None:
            self._events.append((message, raw, message.event(lead_id, self.now)))
        else:
            self._keep_until_identified(message, raw)

    def _keep_until_identified(self, message: Message, raw: object) -> None:
        if message.user_id is None and message.anonymous_id is None:
            self._reject(
                raw,
                message.kind,
                Rejection(
                    "unknown_lead",
                    f"no lead has the address '{message.email}', and the message carries no "
                    "userId or anonymousId to keep it under until one does",
                ),
            )
            return
        event = message.event(PLACEHOLDER_LEAD, self.now)
        problem = event_rejection(event, self.playbook, self.now)
        if problem is not None:
            self._reject(raw, message.kind, _event_rejection(problem))
        elif is_stored_event(self.db, message.message_id):
            self.report.duplicate += 1  # kept before, and attached to its lead since
        else:
            checked = EventIn.model_validate(event)
            keep_pending(
                self.db,
                {
                    "id": message.message_id,
                    "anonymous_id": message.anonymous_id,
                    "user_id": message.user_id,
                    "type": checked.type,
                    "occurred_at": checked.occurred_at,
                    "properties": checked.properties,
                    "received_at": self.now,
                },
            )
            self.report.pending += 1

    def _identify(self, message: Message, raw: object) -> None:
        traits = lead_fields(message.traits)
        lead_id = self._lead_of(message)
        existing = load_lead(self.db, lead_id) if lead_id is not None else None
        if lead_id is None:
            email = traits.email or message.email
            if email is None:
                named = message.user_id or message.anonymous_id
                self._reject(
                    raw,
                    "identify",
                    Rejection(
                        "unknown_lead",
                        f"identify: no lead is known as '{named}', and traits.email is "
                        "missing, so none can be created",
                    ),
                )
                return
            lead_id = message.user_id or derived_lead_id(email)
        lead: dict[str, Any] = {"id": lead_id, "email": message.email, "attributes": {}}
        if existing is not None:
            lead.update(
                email=existing.email,
                name=existing.name,
                company=existing.company,
                owner=existing.owner,
                attributes=dict(existing.attributes),
                do_not_contact=existing.do_not_contact,  # never turned back on by a trait
            )
        for name in ("email", "name", "company", "owner"):
            value = getattr(traits, name)
            if value is not None:
                lead[name] = value
        lead["attributes"].update(traits.attributes)
        result = upsert_leads(self.db, [lead], self.playbook, now=self.now).results[0]
        if result.status == "rejected":
            self._reject(raw, "identify", Rejection("invalid_traits", result.reason or "invalid"))
            return
        self.report.identified += 1
        self.report.leads.add(lead_id)
        self._link_and_attach(
            lead_id,
            anonymous=[message.anonymous_id],
            users=[message.user_id, lead_id],
        )

    def _alias(self, message: Message, raw: object) -> None:
        previous, user = message.previous_id, message.user_id
        lead_id = self._lead_named(user) or self._lead_named(previous)
        if lead_id is None and previous is not None and user is not None:
            moved = hand_pending_to(self.db, previous, user)
            self._reject(
                raw,
                "alias",
                Rejection(
                    "unknown_identity",
                    f"alias: neither userId '{user}' nor previousId '{previous}' names a lead "
                    f"yet (an identify with an email creates the lead); {moved} kept "
                    f"event(s) under '{previous}' now wait for '{user}'",
                ),
            )
            return
        if lead_id is None:
            return  # read_message refuses an alias without both ids
        self.report.identified += 1
        # previousId may have been an anonymousId or an earlier userId: it stands for both
        self._link_and_attach(lead_id, anonymous=[previous], users=[previous, user, lead_id])

    def _link_and_attach(
        self, lead_id: str, *, anonymous: list[str | None], users: list[str | None]
    ) -> None:
        anonymous_ids = [a for a in anonymous if a]
        user_ids = [u for u in users if u]
        ids: list[tuple[IdKind, str]] = [("anonymous", a) for a in anonymous_ids]
        ids += [("user", u) for u in user_ids if u != lead_id]
        link(self.db, lead_id, ids, self.now)
        kept = pending_for(self.db, anonymous_ids, user_ids)
        if not kept:
            return
        events = [
            {
                "id": row.id,
                "lead_id": lead_id,
                "type": row.type,
                "occurred_at": row.occurred_at.isoformat(),
                "properties": row.properties,
            }
            for row in kept
        ]
        report = ingest_events(self.db, events, self.playbook, now=self.now)
        for result in report.results:
            if result.status == "stored":
                self.report.stored += 1
                self.report.leads.add(lead_id)
            elif result.status == "rejected":  # e.g. the playbook changed meanwhile
                self._reject(
                    events[result.index],
                    kept[result.index].type,
                    _event_rejection(result.reason or "rejected"),
                )
        forget_pending(self.db, [row.id for row in kept])

    def _lead_of(self, message: Message) -> str | None:
        """The lead a message is about: its userId as a lead id or a linked one, else the lead
        with the traits' email (the lowest id if several share it), else the lead its
        anonymousId was linked to."""
        key = (message.user_id, message.email, message.anonymous_id)
        if key not in self._leads:
            self._leads[key] = self._find_lead(message)
        return self._leads[key]

    def _find_lead(self, message: Message) -> str | None:
        if message.user_id is not None:
            found = self._lead_named(message.user_id, kinds=("user",))
            if found is not None:
                return found
        if message.email is not None:
            ids = lead_ids_by_email(self.db, [message.email]).get(message.email.lower())
            if ids:
                return ids[0]
        if message.anonymous_id is not None:
            return linked_lead(self.db, "anonymous", message.anonymous_id)
        return None

    def _lead_named(
        self, value: str | None, kinds: tuple[IdKind, ...] = ("user", "anonymous")
    ) -> str | None:
        if value is None:
            return None
        if lead_exists(self.db, value):
            return value
        for kind in kinds:
            found = linked_lead(self.db, kind, value)
            if found is not None:
                return found
        return None

    def _reject(self, raw: object, kind: str | None, rejection: Rejection) -> None:
        message_id = raw.get("messageId") if isinstance(raw, Mapping) else None
        if message_id is None and isinstance(raw, Mapping):
            message_id = raw.get("id")  # a kept event, rejected when attached
        self.rejected.append(
            Rejected(
                SOURCE,
                str(message_id) if message_id is not None else None,
                kind,
                rejection.code,
                rejection.reason,
                raw,
            )
        )


def _event_rejection(reason: str) -> Rejection:
    """Our ingest's reason, with the code /metrics counts it under."""
    if reason.startswith("type:"):
        return Rejection("unmapped_event", reason)
    if reason.startswith("lead_id:"):
        return Rejection("unknown_lead", reason)
    return Rejection("invalid_event", reason)
