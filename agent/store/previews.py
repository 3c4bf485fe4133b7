"""Playbook previews asked for, as jobs (agent/jobs/previews.py runs them): written queued
before anyone hears of them, claimed by one worker, their progress every chunk of leads, then
their result or why they failed. Every replica answers from these rows."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from agent.store.database import Database
from agent.store.schema import PlaybookPreviewRow

ACTIVE = ("queued", "running")
ERROR_CHARS = 2000


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_preview(
    db: Database,
    *,
    text: str,
    candidate_version: str,
    current_version: str,
    by: str,
    at: datetime,
) -> tuple[str, bool]:
    """Writes a queued preview and returns (its id, True); when the same candidate against the
    same version in force is already queued or running, returns (that one's id, False). The
    unique index on active previews decides between concurrent callers in any process."""
    digest = text_hash(text)
    existing = _active(db, digest, current_version)
    if existing is not None:
        return existing, False
    preview_id = uuid.uuid4().hex
    try:
        with db.session() as session:
            session.add(
                PlaybookPreviewRow(
                    id=preview_id,
                    text=text,
                    text_hash=digest,
                    candidate_version=candidate_version,
                    current_version=current_version,
                    requested_by=by,
                    status="queued",
                    leads_done=0,
                    attempts=0,
                    created_at=at,
                )
            )
    except IntegrityError:  # another request for the same candidate won the race
        existing = _active(db, digest, current_version)
        if existing is None:  # it ended meanwhile: ask again
            return request_preview(
                db,
                text=text,
                candidate_version=candidate_version,
                current_version=current_version,
                by=by,
                at=at,
            )
        return existing, False
    return preview_id, True


def _active(db: Database, digest: str, current_version: str) -> str | None:
    query = select(PlaybookPreviewRow.id).where(
        PlaybookPreviewRow.text_hash == digest,
        PlaybookPreviewRow.current_version == current_version,
        PlaybookPreviewRow.status.in_(ACTIVE),
    )
    with db.session() as session:
        return session.scalars(query).first()


def get_preview(db: Database, preview_id: str) -> PlaybookPreviewRow | None:
    with db.session() as session:
        return session.get(PlaybookPreviewRow, preview_id)


def claim_preview(
    db: Database, preview_id: str, *, worker: str, at: datetime, taking_over: str | None = None
) -> PlaybookPreviewRow | None:
    """Marks a queued preview running by `worker`; with `taking_over`, also one that worker
    (now gone) held. None when someone else has it or it has ended: of two claimers one wins.
    Taken over, it starts again from the first lead (a preview writes nothing but its row)."""
    held_by = PlaybookPreviewRow.status == "queued"
    if taking_over is not None:
        # "" takes over a preview no worker was recorded for
        gone = (
            PlaybookPreviewRow.worker == taking_over
            if taking_over
            else PlaybookPreviewRow.worker.is_(None)
        )
        held_by = held_by | ((PlaybookPreviewRow.status == "running") & gone)
    claim = (
        update(PlaybookPreviewRow)
        .where(PlaybookPreviewRow.id == preview_id, held_by)
        .values(
            status="running",
            worker=worker,
            started_at=at,
            leads_done=0,
            attempts=PlaybookPreviewRow.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    with db.session() as session:
        # an UPDATE's result is a CursorResult, which Session.execute's signature does not say
        if cast(CursorResult[Any], session.execute(claim)).rowcount != 1:
            return None
        return session.get(PlaybookPreviewRow, preview_id, populate_existing=True)


def record_progress(db: Database, preview_id: str, *, worker: str, done: int, total: int) -> None:
    """How many leads of how many are previewed (while it runs)."""
    _set(db, preview_id, worker, leads_done=done, leads_total=total)


def finish_preview(
    db: Database, preview_id: str, result: dict[str, Any], *, worker: str, at: datetime
) -> None:
    _set(db, preview_id, worker, status="done", result=result, error=None, finished_at=at)


def fail_preview(db: Database, preview_id: str, *, worker: str, error: str, at: datetime) -> None:
    _set(db, preview_id, worker, status="failed", error=error[:ERROR_CHARS], finished_at=at)


def requeue_preview(db: Database, preview_id: str, *, worker: str) -> None:
    """Back to the queue, as if never started (its process is stopping)."""
    _set(db, preview_id, worker, status="queued", worker=None, leads_done=0, started_at=None)


def _set(db: Database, preview_id: str, holder: str, **values: Any) -> None:
    """Only while `holder` runs it: a preview another worker took over is not written back by
    the one it was taken from."""
    with db.session() as session:
        session.execute(
            update(PlaybookPreviewRow)
            .where(
                PlaybookPreviewRow.id == preview_id,
                PlaybookPreviewRow.status == "running",
                PlaybookPreviewRow.worker == holder,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def unfinished_previews(db: Database) -> list[PlaybookPreviewRow]:
    """Previews queued or running, oldest first (for an executor starting again)."""
    query = (
        select(PlaybookPreviewRow)
        .where(PlaybookPreviewRow.status.in_(ACTIVE))
        .order_by(PlaybookPreviewRow.created_at)
    )
    with db.session() as session:
        return list(session.scalars(query))
