"""At most `count` nurture emails to one account within `days`, enforced where the send is
claimed, in the same transaction as the claim: two contacts of one account approved at the same
moment (two workers, two replicas) cannot both pass.

The claim first writes the account's lock row (an upsert that always changes it): on PostgreSQL
that takes the row's lock, so claims for one account queue behind each other and each sees the
one before it once committed; on SQLite the write takes the database's write lock before
anything is read. Only then are the account's sends counted.

A send holds its account's slot from its time: when it went out (or was attempted: an uncertain
one counts, better one email too few than one too many), or, while it waits for the send
window, the opening it is scheduled for. Another send is refused if it falls within `days` of
that time, before or after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from agent.store.schema import AccountSendLockRow, LeadRow, SendRow, UTCDateTime
from agent.store.upsert import dialect_insert

HOLDING = ("sending", "sent", "needs_check", "scheduled")
"""Send statuses that hold the account's slot (blocked, failed and cancelled ones sent nothing)."""


@dataclass(frozen=True, slots=True)
class AccountCap:
    account: str
    count: int
    days: float


class AccountCapReached(Exception):
    """The account had its emails within the window: the message names the one(s) holding it."""


def check_account_cap(session: Session, cap: AccountCap, *, approval_id: str, at: datetime) -> None:
    """Locks the account and raises AccountCapReached when `cap.count` other sends of the
    account fall within `cap.days` of `at`. Call inside the claim's transaction, before it."""
    _lock(session, cap.account)
    when = func.coalesce(SendRow.scheduled_for, SendRow.attempted_at)
    window = timedelta(days=cap.days)
    holders = session.execute(
        select(SendRow.approval_id, SendRow.lead_id, SendRow.status, when.label("at"))
        .join(LeadRow, LeadRow.id == SendRow.lead_id)
        .where(
            LeadRow.account == cap.account,
            SendRow.approval_id != approval_id,
            SendRow.status.in_(HOLDING),
            when > _moment(at - window),
            when < _moment(at + window),
        )
        .order_by(when.desc())
    ).all()
    if len(holders) >= cap.count:
        latest = holders[0]
        raise AccountCapReached(
            f"account cap at send time: account {cap.account} may get {cap.count} email(s) per "
            f"{cap.days:g} days and has the send of approval {latest.approval_id} to lead "
            f"{latest.lead_id} ({latest.status}, {_utc(latest.at)})"
        )


def _lock(session: Session, account: str) -> None:
    stmt = dialect_insert(session, AccountSendLockRow).values(account=account, claims=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["account"], set_={"claims": AccountSendLockRow.claims + 1}
    )
    session.execute(stmt)


def _moment(at: datetime) -> object:
    # typed, so SQLite compares it in the stored text form of the datetime columns
    return literal(at, UTCDateTime())


def _utc(at: datetime | str) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else str(at)
