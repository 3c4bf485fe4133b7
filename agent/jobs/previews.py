"""The playbook preview job: a preview asked for is written to the store (queued) before anyone
hears of it; a worker claims it, previews every lead as of the moment it was asked for,
recording how many leads are done after every chunk, and stores the result (or why it failed).
The same code runs it in the service's own threads (SQLite) and in a `nurture worker`
(PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from agent.context import AgentContext
from agent.playbook import Playbook, parse_playbook
from agent.preview import preview
from agent.preview_json import preview_json
from agent.store.database import Database
from agent.store.previews import (
    claim_preview,
    fail_preview,
    finish_preview,
    get_preview,
    record_progress,
    request_preview,
    requeue_preview,
)
from agent.store.schema import LeadRow, PlaybookPreviewRow, PlaybookVersionRow


def accept_preview(ctx: AgentContext, text: str, *, by: str) -> tuple[str, bool]:
    """Writes a queued preview of the candidate `text` against the playbook in force; returns
    its id and whether it is new (False: the same candidate is already queued or running, and
    that one's id is returned). PlaybookError when `text` is no valid playbook."""
    candidate = parse_playbook(text, source="candidate")
    return request_preview(
        ctx.db,
        text=text,
        candidate_version=candidate.version,
        current_version=ctx.playbook.version,
        by=by,
        at=ctx.clock(),
    )


class _Stopped(Exception):
    """The process is stopping: the preview goes back to the queue."""


def _never() -> bool:
    return False


def run_preview_job(
    ctx: AgentContext,
    preview_id: str,
    *,
    worker: str,
    taking_over: str | None = None,
    stopping: Callable[[], bool] = _never,
) -> PlaybookPreviewRow | None:
    """Claims the preview and runs it to the end; None when another worker has it or it has
    ended, or when `stopping` said yes between two chunks (then it is queued again, for the
    next start). `taking_over`: the worker (gone) that held it; the preview starts again."""
    db = ctx.db
    row = claim_preview(db, preview_id, worker=worker, at=ctx.clock(), taking_over=taking_over)
    if row is None:
        return None
    try:
        candidate = parse_playbook(row.text, source=f"the candidate of preview {preview_id}")
        current = _version(db, row.current_version, ctx.playbook)
        total = lead_count(db)
        record_progress(db, preview_id, worker=worker, done=0, total=total)

        def progress(done: int) -> None:
            # leads created meanwhile are previewed too: the total grows with them
            record_progress(db, preview_id, worker=worker, done=done, total=max(total, done))
            if done < total and stopping():  # the last chunk done: finish rather than redo
                raise _Stopped

        # as of the moment it was asked for: a retry previews the same moment
        result = preview(db, current, candidate, ctx.assets, row.created_at, progress=progress)
        finish_preview(db, preview_id, preview_json(result), worker=worker, at=ctx.clock())
    except _Stopped:
        requeue_preview(db, preview_id, worker=worker)
        return None
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        fail_preview(db, preview_id, worker=worker, error=error, at=ctx.clock())
        raise
    return get_preview(db, preview_id)


def _version(db: Database, version: str, in_force: Playbook) -> Playbook:
    """The playbook that was in force when the preview was asked for: an activation since
    must not change what the candidate is compared with. The configured file's version is
    not stored; it is the one in force unless another was activated."""
    if in_force.version == version:
        return in_force
    with db.session() as session:
        row = session.get(PlaybookVersionRow, version)
    return in_force if row is None else parse_playbook(row.text, source=f"playbook {version}")


def lead_count(db: Database) -> int:
    """How many leads a preview goes through (as it starts)."""
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(LeadRow)) or 0)
