"""Sends waiting for the playbook's send window: written as `scheduled` at approval, claimed
(scheduled -> sending, one conditional UPDATE) by whoever sends them when the window opens, or
cancelled by a person. Of a claim and a cancel racing, exactly one wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update

from agent.store.account_caps import AccountCap, check_account_cap
from agent.store.database import Database
from agent.store.schema import EventRow, SendActionRow, SendRow
from agent.store.sends import write_send

SCHEDULED = "scheduled"
CANCELLED = "cancelled"


def schedule_send(
    db: Database,
    *,
    approval_id: str,
    lead_id: str,
    message_id: str,
    to_address: str,
    subject: str,
    body: str,
    at: datetime,
    scheduled_for: datetime,
    zone: str,
    account_cap: AccountCap | None = None,
) -> bool:
    """Writes the send as scheduled. False when a row exists already (an earlier attempt).
    With `account_cap`, raises AccountCapReached (nothing written) when the account had its
    emails within the window of the opening (agent/store/account_caps.py)."""
    row = SendRow(
        approval_id=approval_id,
        lead_id=lead_id,
        message_id=message_id,
        status=SCHEDULED,
        to_address=to_address,
        subject=subject,
        body=body,
        attempted_at=at,
        scheduled_for=scheduled_for,
        send_zone=zone,
    )
    return write_send(db, row, account_cap=account_cap, cap_at=scheduled_for)


def claim_scheduled(db: Database, approval_id: str, *, at: datetime) -> bool:
    """scheduled -> sending; False when it is no longer scheduled (sent, or cancelled)."""
    claim = (
        update(SendRow)
        .where(SendRow.approval_id == approval_id, SendRow.status == SCHEDULED)
        .values(status="sending", attempted_at=at)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        return cast(CursorResult[Any], session.execute(claim)).rowcount == 1


def reschedule(
    db: Database,
    approval_id: str,
    *,
    scheduled_for: datetime,
    account_cap: AccountCap | None = None,
) -> bool:
    """Moves a scheduled send to a later opening (its job ran after the window had closed);
    False when it is no longer scheduled. With `account_cap`, the cap is applied at the new
    time first, in the same transaction behind the account's lock row: AccountCapReached
    (nothing moved) when another send of the account holds the slot there."""
    move = (
        update(SendRow)
        .where(SendRow.approval_id == approval_id, SendRow.status == SCHEDULED)
        .values(scheduled_for=scheduled_for)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        if account_cap is not None:
            check_account_cap(session, account_cap, approval_id=approval_id, at=scheduled_for)
        return cast(CursorResult[Any], session.execute(move)).rowcount == 1


def block_scheduled(db: Database, approval_id: str, *, reason: str, at: datetime) -> bool:
    """scheduled -> blocked (a check said no before it was claimed); False when it is no longer
    scheduled (a cancel or a claim came first)."""
    block = (
        update(SendRow)
        .where(SendRow.approval_id == approval_id, SendRow.status == SCHEDULED)
        .values(status="blocked", reason=reason, finished_at=at)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        return cast(CursorResult[Any], session.execute(block)).rowcount == 1


def cancel_scheduled(db: Database, approval_id: str, *, by: str, at: datetime) -> bool:
    """scheduled -> cancelled, audited; False when it is no longer scheduled."""
    cancel = (
        update(SendRow)
        .where(SendRow.approval_id == approval_id, SendRow.status == SCHEDULED)
        .values(status=CANCELLED, reason=f"cancelled by {by}", finished_at=at)
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        if cast(CursorResult[Any], session.execute(cancel)).rowcount != 1:
            return False
        session.add(
            SendActionRow(
                approval_id=approval_id,
                action="cancel",
                by=by,
                at=at,
                from_status=SCHEDULED,
                outcome=CANCELLED,
            )
        )
        return True


def due_scheduled(db: Database, *, now: datetime, limit: int = 1_000) -> list[str]:
    """Approval ids of scheduled sends whose moment has come, earliest first."""
    query = (
        select(SendRow.approval_id)
        .where(SendRow.status == SCHEDULED, SendRow.scheduled_for <= now)
        .order_by(SendRow.scheduled_for)
        .limit(limit)
    )
    with db.session() as session:
        return list(session.scalars(query))


def next_scheduled(db: Database) -> datetime | None:
    """The earliest moment a scheduled send is due, if any waits."""
    with db.session() as session:
        return session.scalar(
            select(func.min(SendRow.scheduled_for)).where(SendRow.status == SCHEDULED)
        )


def scheduled_for_lead(db: Database, lead_id: str) -> SendRow | None:
    """The lead's send waiting for the window, if one does (it holds the lead's one draft)."""
    with db.session() as session:
        return session.scalar(
            select(SendRow).where(SendRow.lead_id == lead_id, SendRow.status == SCHEDULED).limit(1)
        )


def scheduled_leads(db: Database) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(SendRow.lead_id).where(SendRow.status == SCHEDULED)))


def settle_scheduled_touch(db: Database, event_id: str, *, at: datetime) -> None:
    """The touch held for a scheduled send moves to when the email went out."""
    with db.session() as session:
        row = session.get(EventRow, event_id)
        if row is not None and row.properties.get("scheduled_for"):
            row.occurred_at = at
            row.properties = {k: v for k, v in row.properties.items() if k != "scheduled_for"}


def drop_scheduled_touch(db: Database, event_id: str) -> None:
    """The touch held for a scheduled send that will never go out (cancelled or blocked)."""
    with db.session() as session:
        session.execute(
            delete(EventRow)
            .where(EventRow.id == event_id)
            .execution_options(synchronize_session=False)
        )
