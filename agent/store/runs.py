"""Agent runs: one row per LangGraph thread, with its status while queued or running (which
worker, since when, how many attempts) and where it ended. The database, not a process, holds
it, so any replica answers for any run and a run accepted is never lost."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from agent.errors import NurtureError
from agent.store.database import Database
from agent.store.scheduled_sends import scheduled_for_lead
from agent.store.schema import ACTIVE_RUN, ApprovalRow, LeadRow, RunRow
from agent.store.upsert import upsert


class DraftRefused(NurtureError):
    """A lead already has a draft run queued or running, or a draft waiting for approval."""


def record_run(
    db: Database,
    *,
    thread_id: str,
    lead_id: str,
    outcome: str,
    at: datetime,
    playbook_version: str,
    action: str | None = None,
    detail: str | None = None,
) -> None:
    row = {
        "thread_id": thread_id,
        "lead_id": lead_id,
        "action": action,
        "outcome": outcome,
        "detail": detail,
        "playbook_version": playbook_version,
        "started_at": at,
        "updated_at": at,
    }
    # a later step that does not know the action must not erase it
    keep = ("started_at",) if action is not None else ("started_at", "action")
    with db.session() as session:
        upsert(session, RunRow, [row], keep=keep)


def queue_run(
    db: Database, *, thread_id: str, lead_id: str, at: datetime, playbook_version: str
) -> None:
    """Writes an accepted draft run as queued, or raises DraftRefused saying why not. The unique
    index on active runs decides between concurrent callers in any process."""
    try:
        with db.session() as session:
            if session.get(LeadRow, lead_id) is None:
                raise NurtureError(f"no lead with id '{lead_id}'")
            waiting = pending_draft(db, lead_id)
            if waiting is not None:
                raise DraftRefused(f"a draft for this lead is waiting for approval: {waiting}")
            scheduled = scheduled_for_lead(db, lead_id)
            if scheduled is not None:  # it is the lead's one draft until sent or cancelled
                when = f"{scheduled.scheduled_for:%Y-%m-%d %H:%M} UTC"
                raise DraftRefused(
                    f"an email for this lead is scheduled for {when}, waiting for the send "
                    f"window: {scheduled.approval_id}"
                )
            session.add(
                RunRow(
                    thread_id=thread_id,
                    lead_id=lead_id,
                    outcome="queued",
                    playbook_version=playbook_version,
                    started_at=at,
                    updated_at=at,
                    attempts=0,
                )
            )
    except IntegrityError as exc:
        active = active_run(db, lead_id)
        if active is not None:
            raise DraftRefused(
                f"a draft run for this lead is already {active.outcome}: {active.thread_id}"
            ) from exc
        # the run that won has already reached the inbox (a loaded machine, a quick drafter)
        waiting = pending_draft(db, lead_id)
        if waiting is not None:
            raise DraftRefused(f"a draft for this lead is waiting for approval: {waiting}") from exc
        raise DraftRefused(f"cannot queue a draft run for '{lead_id}': {exc.orig}") from exc


def pending_draft(db: Database, lead_id: str) -> str | None:
    """The id of the lead's draft waiting for approval, if one is."""
    with db.session() as session:
        return session.scalar(
            select(ApprovalRow.id)
            .where(ApprovalRow.lead_id == lead_id, ApprovalRow.status == "pending")
            .limit(1)
        )


def active_run(db: Database, lead_id: str) -> RunRow | None:
    with db.session() as session:
        return session.scalar(
            select(RunRow).where(RunRow.lead_id == lead_id, RunRow.outcome.in_(ACTIVE_RUN))
        )


def claim_run(
    db: Database, thread_id: str, *, worker: str, at: datetime, taking_over: str | None = None
) -> RunRow | None:
    """Marks a queued run running by `worker`; with `taking_over`, also a run that worker (now
    gone) held. None when someone else has it or it has ended: of two claimers one wins."""
    held_by = RunRow.outcome == "queued"
    if taking_over is not None:
        # "" takes over a run no worker was recorded for (started before durable runs)
        gone = RunRow.worker == taking_over if taking_over else RunRow.worker.is_(None)
        held_by = held_by | ((RunRow.outcome == "running") & gone)
    claim = (
        update(RunRow)
        .where(RunRow.thread_id == thread_id, held_by)
        .values(
            outcome="running",
            worker=worker,
            running_since=at,
            updated_at=at,
            attempts=RunRow.attempts + 1,
            retry_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        # an UPDATE's result is a CursorResult, which Session.execute's signature does not say
        if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
            return None
        return session.get(RunRow, thread_id, populate_existing=True)


def fail_run(db: Database, thread_id: str, *, error: str, at: datetime) -> None:
    """A run that stopped on an error: failed, with why (only while it was still running; a
    node that recorded an outcome already said where it ended)."""
    with db.session() as session:
        session.execute(
            update(RunRow)
            .where(RunRow.thread_id == thread_id, RunRow.outcome.in_(ACTIVE_RUN))
            .values(outcome="failed", error=error[:2000], updated_at=at)
            .execution_options(synchronize_session=False)
        )


def retry_run_later(
    db: Database, thread_id: str, *, error: str, at: datetime, retry_at: datetime
) -> bool:
    """A run whose job failed and will be run again by the queue: queued again (so the lead
    keeps its one active run), with the error and when the retry is due. False when it could
    not be (it is no longer failed, or the lead has another run going meanwhile)."""
    try:
        with db.session() as session:
            retry = (
                update(RunRow)
                .where(RunRow.thread_id == thread_id, RunRow.outcome == "failed")
                .values(outcome="queued", error=error[:2000], retry_at=retry_at, updated_at=at)
                .execution_options(synchronize_session=False)
            )
            done = cast(CursorResult[Any], session.execute(retry)).rowcount
    except IntegrityError:
        return False
    return done == 1


def requeue_run(db: Database, thread_id: str, *, at: datetime) -> bool:
    """Puts a failed run back in the queue (`nurture recover`), unless the lead has another
    active run meanwhile (then DraftRefused)."""
    try:
        with db.session() as session:
            retry = (
                update(RunRow)
                .where(RunRow.thread_id == thread_id, RunRow.outcome == "failed")
                .values(outcome="queued", updated_at=at)
                .execution_options(synchronize_session=False)
            )
            done = cast(CursorResult[Any], session.execute(retry)).rowcount
    except IntegrityError as exc:
        raise DraftRefused(f"the lead of '{thread_id}' has another draft run going") from exc
    return done == 1


def unfinished_runs(db: Database, limit: int = 10_000) -> list[RunRow]:
    """Runs queued or running, oldest first."""
    with db.session() as session:
        query = select(RunRow).where(RunRow.outcome.in_(ACTIVE_RUN))
        return list(session.scalars(query.order_by(RunRow.started_at).limit(limit)))


def get_run(db: Database, thread_id: str) -> RunRow | None:
    with db.session() as session:
        return session.get(RunRow, thread_id)


def require_run(db: Database, thread_id: str) -> RunRow:
    row = get_run(db, thread_id)
    if row is None:
        raise NurtureError(f"no run with thread id '{thread_id}'")
    return row
