"""The approval inbox: drafts waiting for a human, and who decided what, when."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, TypedDict, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from typing_extensions import Unpack

from agent.errors import NurtureError
from agent.store.database import Database
from agent.store.schema import ApprovalRow
from agent.store.upsert import insert_ignoring_duplicates
from agent.store.values import text_problem

Answer = Literal["accept", "edit", "respond", "ignore"]


class AnswerDetails(TypedDict, total=False):
    """What an answer may carry besides its kind, who gave it and when: the feedback of a
    `respond`, the edited text of an `edit`, and whether an `accept` overrides failed
    guardrails."""

    feedback: str | None
    subject: str | None
    body: str | None
    override_guardrails: bool


ANSWERING = "answering"
"""The status of an approval whose answer is claimed and waits for its thread to resume."""
STATUS_FOR: dict[str, str] = {
    "accept": "accepted",
    "edit": "edited",
    "respond": "responded",
    "ignore": "ignored",
}


class UnstorableAnswer(NurtureError):
    """An answer's text the store could not keep or read back (NUL, a lone surrogate)."""


class GuardrailsNotOverridden(NurtureError):
    """Accepting unchanged a draft whose guardrails failed, without saying so explicitly."""

    def __init__(self, approval_id: str, violations: list[dict[str, Any]]) -> None:
        self.rules = failed_checks(violations)
        listed = "; ".join(f"{v.get('rule')}: {v.get('message')}" for v in violations)
        super().__init__(
            f"draft '{approval_id}' failed the guardrails ({listed}). It was not sent and is "
            "still waiting: edit it, ask for changes, or override the failed checks explicitly "
            f"({', '.join(self.rules)})"
        )


class DraftAlreadyPending(NurtureError):
    """Another draft of the lead is already waiting in the inbox (one pending draft per lead)."""

    def __init__(self, approval_id: str) -> None:
        self.approval_id = approval_id
        super().__init__(f"a draft is already pending for this lead: {approval_id}")


class AlreadyDecided(NurtureError, RuntimeError):
    """An answer to an approval someone (or this same answer, earlier) already decided.

    A RuntimeError too: LangGraph Server shows the message of a failed run only for builtin
    errors (others read "An internal error occurred"), and this one says who won. The losing
    run fails instead of ending quietly so that it writes no checkpoint competing with the
    winner's, which could become the thread's latest state and hide the send."""

    def __init__(self, row: ApprovalRow) -> None:
        self.row = row
        super().__init__(
            f"approval '{row.id}' was already decided ({row.status} by "
            f"{row.decided_by} at {row.decided_at:%Y-%m-%d %H:%M} UTC)"
        )


def failed_checks(violations: list[dict[str, Any]]) -> list[str]:
    """The rules of a draft's failed checks, each once, in order."""
    return list(dict.fromkeys(str(v.get("rule")) for v in violations))


@dataclass(frozen=True, slots=True)
class PendingDraft:
    approval_id: str
    thread_id: str
    lead_id: str
    subject: str
    body: str
    cited_asset_ids: list[str]
    lead_facts_used: list[str]
    drafter: str
    prompt_version: str
    playbook_version: str
    violations: list[dict[str, Any]]
    decision: dict[str, Any]
    created_at: datetime
    notes: list[str] = field(default_factory=list)
    experiments: dict[str, str] = field(default_factory=dict)
    """Experiment id → the variant this draft was written with."""


def open_approval(db: Database, draft: PendingDraft) -> None:
    """Adds the draft to the inbox; a second call for the same id changes nothing (nodes re-run
    when a graph resumes). DraftAlreadyPending when another draft of the lead waits: the unique
    index decides, because a check made when the run was queued can be overtaken by another run
    reaching review meanwhile."""
    row = {**asdict(draft), "id": draft.approval_id, "status": "pending"}
    del row["approval_id"]
    try:
        with db.session() as session:
            insert_ignoring_duplicates(session, ApprovalRow, [row])
    except IntegrityError:
        waiting = pending(db, lead_id=draft.lead_id, limit=1)
        if not waiting or waiting[0].id == draft.approval_id:
            raise  # not the one-pending-draft rule: a real fault
        raise DraftAlreadyPending(waiting[0].id) from None


def get_approval(db: Database, approval_id: str) -> ApprovalRow:
    with db.session() as session:
        row = session.get(ApprovalRow, approval_id)
    if row is None:
        raise NurtureError(f"no approval with id '{approval_id}'")
    return row


def pending(db: Database, *, lead_id: str | None = None, limit: int = 200) -> list[ApprovalRow]:
    query = select(ApprovalRow).where(ApprovalRow.status == "pending")
    if lead_id:
        query = query.where(ApprovalRow.lead_id == lead_id)
    with db.session() as session:
        return list(session.scalars(query.order_by(ApprovalRow.created_at).limit(limit)))


def record_answer(
    db: Database,
    approval_id: str,
    *,
    answer: Answer,
    by: str,
    at: datetime,
    **details: Unpack[AnswerDetails],
) -> ApprovalRow:
    """Marks a pending approval decided. A decided one cannot be decided again: the write only
    happens while the row is still pending, so of two concurrent answers exactly one wins (a
    read-then-write would let both through on SQLite, which ignores SELECT ... FOR UPDATE).
    A row claimed by claim_answer is decided only by the answer that claimed it, keeping the
    time of the claim.

    Accepting unchanged a draft whose guardrails failed needs `override_guardrails`, which is
    recorded with who gave it and which checks it overrode. (An edit needs none: the guardrails
    check the edited text again.)"""
    feedback, subject, body = details.get("feedback"), details.get("subject"), details.get("body")
    _refuse_unstorable(feedback=feedback, subject=subject, body=body)
    final_subject: Any = None
    final_body: Any = None
    overridden_by: str | None = None
    overridden: list[str] | None = None
    if answer == "edit":
        final_subject, final_body = subject, body
    elif answer == "accept":
        final_subject, final_body = ApprovalRow.subject, ApprovalRow.body
        # a draft's violations never change once it waits, so reading them first is safe
        current = get_approval(db, approval_id)
        if current.status in ("pending", ANSWERING) and current.violations:
            if not details.get("override_guardrails", False):
                raise GuardrailsNotOverridden(approval_id, current.violations)
            overridden_by, overridden = by, failed_checks(current.violations)
    # an answer claimed earlier (claim_answer) is this same answer arriving in the graph
    ours = (ApprovalRow.status == ANSWERING) & (ApprovalRow.answer == answer)
    decided = (
        update(ApprovalRow)
        .where(
            ApprovalRow.id == approval_id,
            (ApprovalRow.status == "pending") | (ours & (ApprovalRow.decided_by == by)),
        )
        .values(
            status=STATUS_FOR[answer],
            answer=answer,
            decided_by=by,
            decided_at=func.coalesce(ApprovalRow.decided_at, at),
            feedback=feedback,
            final_subject=final_subject,
            final_body=final_body,
            guardrails_overridden_by=overridden_by,
            guardrails_overridden=overridden,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        # an UPDATE's result is a CursorResult, which Session.execute's signature does not say
        won = cast(CursorResult[Any], session.execute(decided)).rowcount == 1
        row = session.get(ApprovalRow, approval_id, populate_existing=True)
    if row is None:
        raise NurtureError(f"no approval with id '{approval_id}'")
    if not won:
        raise AlreadyDecided(row)
    return row


def check_answer(
    db: Database,
    approval_id: str,
    *,
    answer: Answer,
    **details: Unpack[AnswerDetails],
) -> ApprovalRow:
    """What record_answer would refuse, refused before a client resumes the graph (which then
    records the answer): writes nothing. A pending row may still be decided by someone else in
    between; record_answer's conditional write settles that."""
    _refuse_unstorable(
        feedback=details.get("feedback"), subject=details.get("subject"), body=details.get("body")
    )
    row = get_approval(db, approval_id)
    if row.status != "pending":
        raise AlreadyDecided(row)
    if answer == "accept" and row.violations and not details.get("override_guardrails", False):
        raise GuardrailsNotOverridden(approval_id, row.violations)
    return row


def decided_as(
    row: ApprovalRow,
    *,
    answer: Answer,
    by: str,
    feedback: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> bool:
    """Whether the row holds exactly this answer: a graph node re-run after a crash records its
    answer again, and must tell its own earlier write from someone else's."""
    if (row.answer, row.decided_by) != (answer, by):
        return False
    if answer == "edit":
        return (row.final_subject, row.final_body) == (subject, body)
    if answer == "respond":
        return row.feedback == feedback
    return True


def _refuse_unstorable(**texts: str | None) -> None:
    """Answers arrive from every client (pages, API, CLI edit files, LangGraph Server), so
    the store refuses what it could not keep (NUL in PostgreSQL) or read back (a lone
    surrogate) here, once, with the field and the reason."""
    for name, value in texts.items():
        problem = text_problem(value) if value is not None else None
        if problem:
            raise UnstorableAnswer(f"{name}: {problem}")
