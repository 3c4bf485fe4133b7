"""Answers claimed before their thread resumes: a person's answer is written to the approval
(pending → answering, with the answer, who and when) before the job that resumes the thread is
enqueued, so nobody is told "accepted" about an answer that lives only in one process's memory,
and a second answer meets the claim (409) from any process. The graph's review node then
records the same answer as the decision (record_answer), or a re-run finds it recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from typing_extensions import Unpack

from agent.errors import NurtureError
from agent.store.approvals import (
    ANSWERING,
    AlreadyDecided,
    Answer,
    AnswerDetails,
    check_answer,
    failed_checks,
    get_approval,
)
from agent.store.database import Database
from agent.store.runs import get_run
from agent.store.schema import ApprovalRow


def claim_answer(
    db: Database,
    approval_id: str,
    *,
    answer: Answer,
    by: str,
    at: datetime,
    **details: Unpack[AnswerDetails],
) -> ApprovalRow:
    """Claims a pending approval for this answer; raises what check_answer raises, and
    AlreadyDecided when another answer claimed or decided it first (one conditional UPDATE,
    so of two concurrent answers exactly one claims it, on SQLite as on PostgreSQL)."""
    row = check_answer(db, approval_id, answer=answer, **details)
    subject, body = details.get("subject"), details.get("body")
    overridden = answer == "accept" and bool(row.violations)
    claimed = (
        update(ApprovalRow)
        .where(ApprovalRow.id == approval_id, ApprovalRow.status == "pending")
        .values(
            status=ANSWERING,
            answer=answer,
            decided_by=by,
            decided_at=at,
            feedback=details.get("feedback"),
            final_subject=(subject or row.subject) if answer == "edit" else None,
            final_body=(body or row.body) if answer == "edit" else None,
            guardrails_overridden_by=by if overridden else None,
            guardrails_overridden=failed_checks(row.violations) if overridden else None,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        won = cast(CursorResult[Any], session.execute(claimed)).rowcount == 1
        after = session.get(ApprovalRow, approval_id, populate_existing=True)
    if after is None:
        raise NurtureError(f"no approval with id '{approval_id}'")
    if not won:
        raise AlreadyDecided(after)
    return after


def claimed_response(row: ApprovalRow) -> dict[str, Any]:
    """The claimed (or already recorded) answer as the graph takes it on resume, in Agent
    Inbox's shape."""
    args: Any = None
    if row.answer == "respond":
        args = row.feedback or ""
    elif row.answer == "edit":
        edited = {"subject": row.final_subject, "body": row.final_body}
        args = {"action": "send_email", "args": edited}
    return {
        "type": "response" if row.answer == "respond" else row.answer,
        "args": args,
        "by": row.decided_by,
        "override_guardrails": row.guardrails_overridden_by is not None,
    }


def answering(db: Database, *, limit: int = 1_000) -> list[ApprovalRow]:
    """Approvals whose claimed answer has not reached their thread yet, oldest first."""
    query = select(ApprovalRow).where(ApprovalRow.status == ANSWERING)
    with db.session() as session:
        return list(session.scalars(query.order_by(ApprovalRow.decided_at).limit(limit)))


def answer_settled(db: Database, approval_id: str) -> bool:
    """Whether the claimed answer has taken its thread somewhere: the approval is decided and
    the run no longer waits on it (it sent, ended, or waits on a new draft)."""
    row = get_approval(db, approval_id)
    if row.status == ANSWERING:
        return False
    run = get_run(db, row.thread_id)
    return run is None or (run.outcome, run.detail) != ("awaiting_approval", approval_id)
