"""Sends as a state machine keyed to the approval: the key to sending exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from agent.store.account_caps import AccountCap, check_account_cap
from agent.store.database import Database
from agent.store.schema import EventRow, SendActionRow, SendRow

SendAction = Literal["resend", "send_again", "delivered"]

FINAL = {"sent", "blocked", "failed", "needs_check", "cancelled"}


def get_send(db: Database, approval_id: str) -> SendRow | None:
    with db.session() as session:
        return session.get(SendRow, approval_id)


def claim_send(
    db: Database,
    *,
    approval_id: str,
    lead_id: str,
    message_id: str,
    to_address: str,
    subject: str,
    body: str,
    at: datetime,
    account_cap: AccountCap | None = None,
) -> bool:
    """Writes 'sending' before the SMTP conversation. False when a row exists already: someone
    (maybe a crashed earlier attempt) got this far, so this attempt must not send. With
    `account_cap`, raises AccountCapReached (nothing written) when the lead's account had its
    emails within the window (agent/store/account_caps.py)."""
    row = SendRow(
        approval_id=approval_id,
        lead_id=lead_id,
        message_id=message_id,
        status="sending",
        to_address=to_address,
        subject=subject,
        body=body,
        attempted_at=at,
    )
    return write_send(db, row, account_cap=account_cap, cap_at=at)


def write_send(
    db: Database, row: SendRow, *, account_cap: AccountCap | None, cap_at: datetime
) -> bool:
    """Adds the send's row, after the account cap (checked as of `cap_at`) in the same
    transaction. False when a row exists already for its approval."""
    try:
        with db.session() as session:
            if account_cap is not None:
                check_account_cap(session, account_cap, approval_id=row.approval_id, at=cap_at)
            session.add(row)
        return True
    except IntegrityError:
        return False


def finish_send(
    db: Database, approval_id: str, *, status: str, at: datetime, reason: str | None = None
) -> None:
    with db.session() as session:
        row = session.get(SendRow, approval_id)
        if row is None:
            raise LookupError(approval_id)
        row.status = status
        row.reason = reason
        row.finished_at = at


def record_blocked(
    db: Database,
    *,
    approval_id: str,
    lead_id: str,
    message_id: str,
    to_address: str,
    subject: str,
    body: str,
    at: datetime,
    reason: str,
) -> None:
    if claim_send(
        db,
        approval_id=approval_id,
        lead_id=lead_id,
        message_id=message_id,
        to_address=to_address,
        subject=subject,
        body=body,
        at=at,
    ):
        finish_send(db, approval_id, status="blocked", at=at, reason=reason)


def list_sends(
    db: Database, *, status: str | None = None, lead_id: str | None = None, limit: int = 100
) -> list[SendRow]:
    """Sends, newest attempt first."""
    query = select(SendRow)
    if status is not None:
        query = query.where(SendRow.status == status)
    if lead_id is not None:
        query = query.where(SendRow.lead_id == lead_id)
    with db.session() as session:
        return list(session.scalars(query.order_by(SendRow.attempted_at.desc()).limit(limit)))


def reclaim_send(
    db: Database,
    seen: SendRow,
    *,
    action: SendAction,
    by: str,
    at: datetime,
    account_cap: AccountCap | None = None,
) -> int | None:
    """Takes a send a person chose to send again back to 'sending', and records who did it.

    The exactly-once guard for re-sends: one conditional UPDATE, which only succeeds while the
    row is still exactly as `seen` (same status, same attempt), so of two people pressing the
    button at once exactly one wins; the other gets None and must not send. Returns the id of
    the audit row to finish with `finish_action`. With `account_cap`, raises AccountCapReached
    (nothing changed) when another send holds the lead's account (agent/store/account_caps.py)."""
    claim = (
        update(SendRow)
        .where(
            SendRow.approval_id == seen.approval_id,
            SendRow.status == seen.status,
            SendRow.attempted_at == seen.attempted_at,
        )
        .values(status="sending", reason=None, attempted_at=at, finished_at=None)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        if account_cap is not None:
            check_account_cap(session, account_cap, approval_id=seen.approval_id, at=at)
        # an UPDATE's result is a CursorResult, which Session.execute's signature does not say
        if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
            return None
        audit = SendActionRow(
            approval_id=seen.approval_id,
            action=action,
            by=by,
            at=at,
            from_status=seen.status,
            from_reason=seen.reason,
        )
        session.add(audit)
        session.flush()
        return audit.id


def mark_sent(db: Database, seen: SendRow, *, by: str, at: datetime) -> bool:
    """A person checked the mail server's log and says an uncertain send went out: it becomes
    'sent' (audited), if it is still as `seen`. False when someone else got there first."""
    resolve = (
        update(SendRow)
        .where(
            SendRow.approval_id == seen.approval_id,
            SendRow.status == "needs_check",
            SendRow.attempted_at == seen.attempted_at,
        )
        .values(status="sent", reason=f"marked delivered by {by}", finished_at=at)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        if cast(CursorResult[Any], session.execute(resolve)).rowcount != 1:
            return False
        session.add(
            SendActionRow(
                approval_id=seen.approval_id,
                action="delivered",
                by=by,
                at=at,
                from_status=seen.status,
                from_reason=seen.reason,
                outcome="sent",
            )
        )
        return True


def finish_action(db: Database, action_id: int, *, outcome: str, detail: str | None) -> None:
    with db.session() as session:
        row = session.get(SendActionRow, action_id)
        if row is None:
            raise LookupError(action_id)
        row.outcome = outcome
        row.detail = detail


def send_history(db: Database, approval_ids: Sequence[str]) -> dict[str, list[SendActionRow]]:
    """What people did to each of these sends, oldest first."""
    found: dict[str, list[SendActionRow]] = {approval_id: [] for approval_id in approval_ids}
    if not approval_ids:
        return found
    query = (
        select(SendActionRow)
        .where(SendActionRow.approval_id.in_(approval_ids))
        .order_by(SendActionRow.at, SendActionRow.id)
    )
    with db.session() as session:
        for row in session.scalars(query):
            found[row.approval_id].append(row)
    return found


def settle_touch(db: Database, event_id: str) -> None:
    """The touch a send put on the timeline is no longer uncertain (a person resolved it)."""
    with db.session() as session:
        row = session.get(EventRow, event_id)
        if row is not None and row.properties.get("uncertain"):
            row.properties = {k: v for k, v in row.properties.items() if k != "uncertain"}
