"""The PostgreSQL queue as people see it: jobs with their lead and worker, counts by queue and
state, and a failed job retried or discarded.

Listing is one query of our own: procrastinate's `JobManager.list_jobs` returns every job ever
kept (no limit, oldest first) and neither when a job started nor the lead behind a draft run.
Retrying and cancelling go through the JobManager, which has calls for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from procrastinate import App
from procrastinate.exceptions import ProcrastinateException
from procrastinate.jobs import Job
from procrastinate.utils import utcnow
from sqlalchemy import text

from agent.errors import NurtureError
from agent.store.database import Database
from agent.store.runs import active_run, get_run

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


@dataclass(frozen=True)
class JobLine:
    id: int
    task: str
    queue: str
    status: str
    attempts: int
    lock: str | None
    lead_id: str | None
    thread_id: str | None
    scheduled_at: datetime | None
    started_at: datetime | None
    worker: str | None
    """The run's host:pid for a draft run, else procrastinate's worker number."""


_LIST = text(
    """
    SELECT j.id, j.task_name, j.queue_name, j.status::text AS status, j.attempts, j.lock,
           COALESCE(j.args->>'lead_id', r.lead_id) AS lead_id, j.args->>'thread_id' AS thread_id,
           j.scheduled_at,
           (SELECT max(e.at) FROM procrastinate_events e
             WHERE e.job_id = j.id AND e.type = 'started') AS started_at,
           CASE WHEN j.status = 'doing' AND r.outcome = 'running' THEN r.worker
                WHEN j.worker_id IS NOT NULL THEN '#' || j.worker_id END AS worker
      FROM procrastinate_jobs j
      LEFT JOIN runs r ON r.thread_id = j.args->>'thread_id'
     WHERE (CAST(:status AS text) IS NULL OR j.status::text = :status)
       AND (CAST(:task AS text) IS NULL OR j.task_name = :task)
       AND (CAST(:lead AS text) IS NULL OR COALESCE(j.args->>'lead_id', r.lead_id) = :lead)
     ORDER BY j.id DESC
     LIMIT :limit
    """
)


def list_jobs(
    db: Database,
    *,
    status: str | None = None,
    task: str | None = None,
    lead_id: str | None = None,
    limit: int = 100,
) -> list[JobLine]:
    """Jobs, newest first."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            _LIST, {"status": status, "task": task, "lead": lead_id, "limit": limit}
        ).all()
    return [JobLine(*row) for row in rows]


_COUNTS = text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2")


def job_counts(db: Database) -> dict[tuple[str, str], int]:
    """How many jobs each queue holds in each state, in one grouped query."""
    with db.engine.connect() as conn:
        return {(queue, status): count for queue, status, count in conn.execute(_COUNTS)}


def _job(app: App, job_id: int) -> Job:
    with app.open():
        jobs = app.job_manager.list_jobs(id=job_id)
    if not jobs:
        raise NurtureError(f"no job {job_id} (nurture jobs lists them)")
    return jobs[0]


def _status(app: App, job_id: int) -> str:
    return str(_job(app, job_id).status)


def retry_job(app: App, db: Database, job_id: int) -> None:
    """Puts a failed job back in its queue, to run now; NurtureError naming why not."""
    job = _job(app, job_id)
    if job.status != "failed":
        raise NurtureError(f"job {job_id} is {job.status}: only a failed job can be retried")
    _refuse_a_second_run(db, job)
    with app.open():
        try:
            app.job_manager.retry_job_by_id(job_id, retry_at=utcnow())
        except ProcrastinateException as exc:  # its state changed since we looked
            raise NurtureError(f"job {job_id} could not be retried: {exc}") from exc


def _refuse_a_second_run(db: Database, job: Job) -> None:
    """A draft job's run goes back in the queue when it is retried; while its lead has another
    run queued or running, the database refuses that (one run per lead), and it would fail
    only later, inside a worker. Say so now, naming the run in the way."""
    from agent.jobs.queue import DRAFT_RUN  # the queue loads the agent: only when retrying

    thread_id = job.task_kwargs.get("thread_id") if job.task_name == DRAFT_RUN else None
    run = get_run(db, str(thread_id)) if thread_id is not None else None
    if run is None:
        return
    other = active_run(db, run.lead_id)
    if other is not None and other.thread_id != run.thread_id:
        raise NurtureError(
            f"job {job.id} drafts for lead {run.lead_id}, which has another draft run going: "
            f"{other.thread_id} ({other.outcome}); retry once it has ended (nurture jobs --lead "
            f"{run.lead_id}), or give up on this one with nurture jobs discard {job.id}"
        )


_DISCARD_FAILED = text(
    "UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = :id AND status = 'failed'"
)


def discard_job(app: App, db: Database, job_id: int) -> None:
    """Gives up on a failed job (it becomes cancelled, kept for the record) or cancels one still
    waiting; NurtureError naming why not. procrastinate cancels only waiting jobs, so a failed
    one is moved by our own statement."""
    status = _status(app, job_id)
    if status == "todo":
        with app.open():
            done = app.job_manager.cancel_job_by_id(job_id)
    elif status == "failed":
        with db.engine.begin() as conn:
            done = conn.execute(_DISCARD_FAILED, {"id": job_id}).rowcount == 1
    else:
        raise NurtureError(
            f"job {job_id} is {status}: only a failed or waiting (todo) job can be discarded"
        )
    if not done:
        raise NurtureError(f"job {job_id} changed state meanwhile; nurture jobs shows it now")
