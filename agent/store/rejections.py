"""Messages we answered 200 but could not store, kept with their reason. A Segment client
never reads the body of a 200, so this table (and its counts in /metrics) is the only place a
bad message shows up."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from agent.store.database import Database
from agent.store.schema import IngestRejectionRow
from agent.store.upsert import insert_ignoring_duplicates
from agent.store.values import shown, storable_json

REASONS: dict[str, str] = {
    "invalid_message": "not a readable message: a field missing, of the wrong type, unstorable",
    "unsupported_type": "a message type we do not use (screen, group, ...)",
    "unmapped_event": "the event name is neither a playbook signal nor mapped by event_mappings",
    "invalid_event": "the event cannot be stored (its time lies in the future, ...)",
    "unknown_lead": "no lead matches and the message cannot create one (no email)",
    "invalid_traits": "the lead the traits describe is not valid (a malformed email, ...)",
    "unknown_identity": "an alias whose ids name no lead yet",
}
"""Reason code → what it means. The codes are /metrics labels: keep the set small and fixed."""


MAX_KEPT_MESSAGE = 32 * 1024  # Segment's own limit for one message


@dataclass(frozen=True, slots=True)
class Rejected:
    source: str
    message_id: str | None
    kind: str | None
    code: str
    reason: str
    message: object


def record_rejections(db: Database, rejected: Sequence[Rejected], at: datetime) -> None:
    """Stores each rejection once per source and message id: a client re-sending the same
    batch records nothing twice."""
    rows = {}
    for item in rejected:
        row = _row(item, at)
        rows[row["id"]] = row
    if rows:
        with db.session() as session:
            insert_ignoring_duplicates(session, IngestRejectionRow, list(rows.values()))


def list_rejections(
    db: Database, *, source: str | None = None, reason: str | None = None, limit: int = 100
) -> list[IngestRejectionRow]:
    """Newest first."""
    query = select(IngestRejectionRow)
    if source:
        query = query.where(IngestRejectionRow.source == source)
    if reason:
        query = query.where(IngestRejectionRow.reason_code == reason)
    query = query.order_by(IngestRejectionRow.received_at.desc(), IngestRejectionRow.id).limit(
        limit
    )
    with db.session() as session:
        return list(session.scalars(query))


def rejection_counts(db: Database) -> dict[tuple[str, str], int]:
    """(source, reason code) → how many rejections are recorded."""
    query = select(
        IngestRejectionRow.source, IngestRejectionRow.reason_code, func.count()
    ).group_by(IngestRejectionRow.source, IngestRejectionRow.reason_code)
    with db.session() as session:
        return {(source, code): count for source, code, count in session.execute(query)}


def _row(item: Rejected, at: datetime) -> dict[str, Any]:
    message_id = shown(item.message_id)[:160] if item.message_id else None
    key = message_id or "h-" + hashlib.sha256(_json(item.message).encode()).hexdigest()[:32]
    return {
        "id": f"{item.source}:{key}"[:200],
        "source": item.source,
        "message_id": message_id,
        "kind": shown(item.kind)[:32] if item.kind else None,
        "reason_code": item.code,
        "reason": shown(item.reason),
        "message": _storable_message(item.message),
        "received_at": at,
    }


def _storable_message(message: object) -> dict[str, Any] | None:
    """The message as sent, when the store can keep it (an object of at most Segment's 32 KB,
    without NUL, lone surrogates or NaN); otherwise only the reason is kept."""
    if not isinstance(message, Mapping) or len(_json(message)) > MAX_KEPT_MESSAGE:
        return None
    try:
        return dict(storable_json(dict(message)))
    except ValueError:
        return None


def _json(value: object) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=True)
    except (RecursionError, ValueError):  # nested too deeply: too big to keep anyway
        return "x" * (MAX_KEPT_MESSAGE + 1)
