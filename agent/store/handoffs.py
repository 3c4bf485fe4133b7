"""Hand-offs to sales, one row per run that handed a lead over: the delivery of its webhook
(status, attempts, last error, when delivered), the rep it is assigned to, and its state with
an audit of every change (handoff_changes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update

from agent.handoff_states import WAITING, HandoffState, TransitionRefused, check_transition
from agent.store.database import Database
from agent.store.schema import HandoffChangeRow, HandoffRow, LeadRow
from agent.store.upsert import insert_ignoring_duplicates

UNSETTLED = ("queued", "retrying")
"""Deliveries still to be attempted."""

SYSTEM = "nurture-agent"
"""Who made the changes the service makes by itself (recording, delivering)."""


@dataclass(frozen=True, slots=True)
class Assignee:
    key_id: str
    email: str


def record_handoff(
    db: Database,
    *,
    handoff_id: str,
    lead_id: str,
    rule: str,
    reason: str,
    payload: dict[str, Any],
    webhook_status: str,
    at: datetime,
    assignee: Assignee | None = None,
) -> None:
    """Records the hand-off (state new, audited); a second call for the same id changes nothing
    (a node re-runs when a graph resumes)."""
    with db.session() as session:
        insert_ignoring_duplicates(
            session,
            HandoffRow,
            [
                {
                    "id": handoff_id,
                    "lead_id": lead_id,
                    "rule": rule,
                    "reason": reason,
                    "payload": payload,
                    "webhook_status": webhook_status,
                    "webhook_error": None,
                    "attempts": 0,
                    "created_at": at,
                    "state": "new",
                    "state_changed_at": at,
                    "assigned_key_id": assignee.key_id if assignee else None,
                    "assigned_to": assignee.email if assignee else None,
                }
            ],
        )
        already = session.scalar(
            select(func.count()).where(HandoffChangeRow.handoff_id == handoff_id)
        )
        if not already:
            to = f" to {assignee.email}" if assignee else " (no rep with an email address)"
            session.add(
                HandoffChangeRow(
                    handoff_id=handoff_id,
                    from_state=None,
                    to_state="new",
                    by=SYSTEM,
                    at=at,
                    reason=f"{rule}: assigned{to}",
                )
            )


def get_handoff(db: Database, handoff_id: str) -> HandoffRow | None:
    with db.session() as session:
        return session.get(HandoffRow, handoff_id)


def change_state(
    db: Database,
    handoff_id: str,
    target: HandoffState,
    *,
    by: str,
    reason: str | None,
    at: datetime,
    expected: str | None = None,
) -> HandoffRow:
    """Moves the hand-off to `target` and audits it. Compare-and-set on the state read, so two
    people acting at once cannot both move it (the second is refused). Raises LookupError for
    an unknown id and TransitionRefused for a move its state does not allow."""
    with db.session() as session:
        row = session.get(HandoffRow, handoff_id)
        if row is None:
            raise LookupError(f"no hand-off with id '{handoff_id}'")
        current = row.state
        if expected is not None and current != expected:
            check_transition(expected, target)  # refuses with the state the caller saw
        check_transition(current, target)
        moved = cast(
            CursorResult[Any],
            session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id, HandoffRow.state == current)
                .values(state=target, state_changed_at=at)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if moved != 1:  # someone else moved it between our read and our write
            raise TransitionRefused(f"the hand-off changed meanwhile; it was {current}")
        session.add(
            HandoffChangeRow(
                handoff_id=handoff_id,
                from_state=current,
                to_state=target,
                by=by,
                at=at,
                reason=reason,
            )
        )
    updated = get_handoff(db, handoff_id)
    assert updated is not None
    return updated


def mark_delivered(db: Database, handoff_id: str, *, how: str, at: datetime) -> None:
    """The rep was told (webhook or email): a new hand-off becomes delivered. One in any other
    state (accepted already) stays as it is."""
    row = get_handoff(db, handoff_id)
    if row is None or row.state != "new":
        return
    try:
        change_state(db, handoff_id, "delivered", by=SYSTEM, reason=how, at=at, expected="new")
    except TransitionRefused:  # a rep accepted it meanwhile: nothing to mark
        return


def record_attempt(
    db: Database,
    handoff_id: str,
    *,
    status: str,
    error: str | None,
    attempts: int,
    at: datetime,
) -> None:
    """What `attempts` requests came to: delivered, retrying or failed, with the last error
    (an error of None keeps the one recorded before)."""
    values: dict[str, Any] = {"webhook_status": status, "attempts": HandoffRow.attempts + attempts}
    if error is not None:
        values["webhook_error"] = error[:2000]
    if status == "delivered":
        values["delivered_at"] = at
    with db.session() as session:
        session.execute(
            update(HandoffRow)
            .where(HandoffRow.id == handoff_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if status == "delivered":
        mark_delivered(db, handoff_id, how="webhook delivered", at=at)


def unsettled_handoffs(db: Database, limit: int = 10_000) -> list[str]:
    """Hand-offs whose delivery is not over, oldest first (for an executor starting again)."""
    with db.session() as session:
        query = select(HandoffRow.id).where(HandoffRow.webhook_status.in_(UNSETTLED))
        return list(session.scalars(query.order_by(HandoffRow.created_at).limit(limit)))


@dataclass(frozen=True, slots=True)
class ListedHandoff:
    row: HandoffRow
    lead: LeadRow
    changes: list[HandoffChangeRow]


def list_handoffs(
    db: Database,
    *,
    state: str | None = None,
    rep: str | None = None,
    handoff_id: str | None = None,
    limit: int = 500,
) -> list[ListedHandoff]:
    """Hand-offs oldest first (the longest waiting leads the list), with their lead and audit;
    `rep` is the assigned rep's key id or email address (any letter case)."""
    query = select(HandoffRow, LeadRow).join(LeadRow, LeadRow.id == HandoffRow.lead_id)
    if state is not None:
        query = query.where(HandoffRow.state == state)
    if handoff_id is not None:
        query = query.where(HandoffRow.id == handoff_id)
    if rep is not None:
        query = query.where(
            or_(
                HandoffRow.assigned_key_id == rep, func.lower(HandoffRow.assigned_to) == rep.lower()
            )
        )
    query = query.order_by(HandoffRow.created_at, HandoffRow.id).limit(limit)
    with db.session() as session:
        pairs = session.execute(query).all()
        ids = [h.id for h, _lead in pairs]
        audit: dict[str, list[HandoffChangeRow]] = defaultdict(list)
        if ids:
            for change in session.scalars(
                select(HandoffChangeRow)
                .where(HandoffChangeRow.handoff_id.in_(ids))
                .order_by(HandoffChangeRow.at, HandoffChangeRow.id)
            ):
                audit[change.handoff_id].append(change)
    return [ListedHandoff(h, lead, audit[h.id]) for h, lead in pairs]


def count_waiting_since_before(db: Database, cutoff: datetime) -> int:
    """Hand-offs not yet accepted that were created before `cutoff`."""
    with db.session() as session:
        query = select(func.count()).where(
            HandoffRow.state.in_(WAITING), HandoffRow.created_at < cutoff
        )
        return int(session.scalar(query) or 0)
