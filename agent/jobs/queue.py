"""The PostgreSQL executor: procrastinate, a job queue in the same database (SKIP LOCKED
fetching, locks, queueing locks, retries with backoff, periodic jobs, worker heartbeats).

Jobs: `nurture.draft_run` (retried with backoff; lock per lead, so two never run for one lead),
`nurture.resume_answer` (a thread resumed with a claimed answer; retried, under the
lead's lock), `nurture.redecide` (queueing lock per lead: a lead waits in the queue once),
`nurture.handoff_webhook` (the sales webhook, retried with backoff on transient failures only;
queueing lock per hand-off), `nurture.scheduled_send` (an approved email waiting for the send
window, deferred with `schedule_at`, so it falls due by the database's clock),
`nurture.playbook_preview` (a candidate playbook over every lead, in its own queue; lock and
queueing lock per preview), and periodic
ones that procrastinate defers once per cluster, not once per worker: `nurture.due_sends` (a
job for due sends scheduled without one), `nurture.sweep` (stale decisions) and
`nurture.retry_stalled` (jobs whose
worker stopped sending heartbeats go to another worker: procrastinate does not retry them by
itself)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from procrastinate import App, JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from psycopg_pool import ConnectionPool
from sqlalchemy.engine import make_url

from agent.handoffs import WebhookRetry, attempt
from agent.jobs.answers import resume_answer
from agent.jobs.connections import queue_connector, sync_queue_pool
from agent.jobs.decisions import redecide
from agent.jobs.drafts import run_draft
from agent.jobs.heartbeat import with_heartbeat
from agent.jobs.previews import run_preview_job
from agent.jobs.workers import worker_id
from agent.runner import NurtureAgent
from agent.scheduled_sends import send_scheduled
from agent.settings import Settings
from agent.store.decisions import stale_decisions
from agent.store.previews import get_preview
from agent.store.runs import get_run, requeue_run, retry_run_later
from agent.store.scheduled_sends import due_scheduled

log = logging.getLogger(__name__)

DRAFTS, DECISIONS, UPKEEP, HANDOFFS = "drafts", "decisions", "upkeep", "handoffs"
SENDS, PREVIEWS = "sends", "previews"
QUEUES = (DRAFTS, DECISIONS, UPKEEP, HANDOFFS, SENDS, PREVIEWS)
DRAFT_RUN, REDECIDE = "nurture.draft_run", "nurture.redecide"
RESUME_ANSWER = "nurture.resume_answer"
DRAFT_RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)
HANDOFF_WEBHOOK = "nurture.handoff_webhook"
SCHEDULED_SEND = "nurture.scheduled_send"
PLAYBOOK_PREVIEW = "nurture.playbook_preview"


def libpq_url(settings: Settings) -> str:
    """The database URL as psycopg takes it (no SQLAlchemy driver suffix)."""
    url = make_url(settings.resolved_database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def new_app(settings: Settings) -> App:
    """An app that enqueues (the API, the CLI): its commits are durable (connections.py)."""
    return App(connector=queue_connector(libpq_url(settings), durable=True))


def new_worker_app(settings: Settings) -> App:
    """An app that runs jobs: its own bookkeeping commits asynchronously (connections.py)."""
    return App(connector=queue_connector(libpq_url(settings), durable=False))


class QueueExecutor:
    """What the API holds on PostgreSQL: it only enqueues; workers run the jobs."""

    def __init__(self, settings: Settings) -> None:
        self._app = new_app(settings)
        self._conninfo = libpq_url(settings)
        self._pool: ConnectionPool[Any] | None = None

    def submit_draft(self, thread_id: str, lead_id: str) -> None:
        # thread ids are UUIDs (LangGraph Server wants them), so the lead comes separately
        self._app.configure_task(DRAFT_RUN, queue=DRAFTS, lock=f"lead:{lead_id}").defer(
            thread_id=thread_id
        )

    def submit_answer(self, approval_id: str, lead_id: str) -> None:
        # the lead's lock: never at the same time as a draft run (or another answer) of the lead
        job = self._app.configure_task(
            RESUME_ANSWER,
            queue=DRAFTS,
            lock=f"lead:{lead_id}",
            queueing_lock=f"answer:{approval_id}",
        )
        try:
            job.defer(approval_id=approval_id)
        except AlreadyEnqueued:  # the same answer is already waiting for a worker
            pass

    def redecide(self, lead_ids: Iterable[str]) -> None:
        for lead_id in lead_ids:
            job = self._app.configure_task(
                REDECIDE, queue=DECISIONS, queueing_lock=f"redecide:{lead_id}"
            )
            try:
                job.defer(lead_id=lead_id)
            except AlreadyEnqueued:  # still waiting: it will read the newest timeline anyway
                pass

    def deliver_handoff(self, handoff_id: str) -> None:
        defer_handoff(self._app, handoff_id)

    def schedule_send(self, approval_id: str, at: datetime) -> None:
        defer_scheduled_send(self._app, approval_id, at)

    def submit_preview(self, preview_id: str) -> None:
        # the preview's lock: one job runs it at a time, so a row marked running when a job
        # starts is one whose worker died (the job came back through retry_stalled)
        key = f"preview:{preview_id}"
        job = self._app.configure_task(
            PLAYBOOK_PREVIEW, queue=PREVIEWS, lock=key, queueing_lock=key
        )
        try:
            job.defer(preview_id=preview_id)
        except AlreadyEnqueued:  # asked for again while it waits: the one waiting will do
            pass

    def start(self) -> None:
        # opened synchronously, procrastinate would make a pool of its defaults: ours instead
        self._pool = sync_queue_pool(self._conninfo)
        self._app.open(self._pool)

    def stop(self) -> None:
        self._app.close()
        if self._pool is not None:  # the app does not close a pool it was given
            self._pool.close()
            self._pool = None


def defer_handoff(app: App, handoff_id: str) -> None:
    job = app.configure_task(HANDOFF_WEBHOOK, queue=HANDOFFS, queueing_lock=f"handoff:{handoff_id}")
    try:
        job.defer(handoff_id=handoff_id)
    except AlreadyEnqueued:  # a node that re-ran on resume: its delivery is already waiting
        pass


def defer_scheduled_send(app: App, approval_id: str, at: datetime) -> None:
    """A job that falls due at `at` by the database's clock (procrastinate's schedule_at)."""
    job = app.configure_task(
        SCHEDULED_SEND, queue=SENDS, schedule_at=at, queueing_lock=_send_lock(approval_id)
    )
    try:
        job.defer(approval_id=approval_id)
    except AlreadyEnqueued:  # one is waiting already; it re-defers itself if it is early
        pass


def cancel_scheduled_send_jobs(settings: Settings, approval_id: str) -> int:
    """Cancels the send's jobs still waiting (`todo`) once the send itself was cancelled: left
    queued, each would wake a worker at the opening for nothing. One already running finds the
    send cancelled and does nothing. Returns how many were cancelled (kept, not deleted: `nurture
    jobs` shows them)."""
    app = new_app(settings)
    with app.open():
        manager = app.job_manager
        waiting = manager.list_jobs(
            task=SCHEDULED_SEND, status=Status.TODO.value, queueing_lock=_send_lock(approval_id)
        )
        return sum(manager.cancel_job_by_id(job.id) for job in waiting if job.id is not None)


def _send_lock(approval_id: str) -> str:
    return f"send:{approval_id}"


class _QueuedSends:
    """What the graph in a worker hands scheduled sends to: a job due at the window's opening."""

    def __init__(self, app: App) -> None:
        self._app = app

    def schedule_send(self, approval_id: str, at: datetime) -> None:
        defer_scheduled_send(self._app, approval_id, at)


class _QueuedHandoffs:
    """What the graph in a worker hands webhooks to: a job in the same queue."""

    def __init__(self, app: App) -> None:
        self._app = app

    def deliver_handoff(self, handoff_id: str) -> None:
        defer_handoff(self._app, handoff_id)


def handoff_retry(settings: Settings) -> RetryStrategy:
    """Transient failures only (WebhookRetry), settings.handoff_attempts runs in all, waiting
    backoff_seconds(base, n) before each retry."""
    return RetryStrategy(
        max_attempts=settings.handoff_attempts - 1,  # procrastinate counts retries
        exponential_wait=settings.handoff_backoff_seconds,
        retry_exceptions={WebhookRetry},
    )


def worker_app(agent: NurtureAgent, settings: Settings) -> App:
    """The app with the jobs a worker runs, bound to this process's agent."""
    app = new_worker_app(settings)
    me = worker_id()

    @app.task(name=DRAFT_RUN, queue=DRAFTS, retry=DRAFT_RETRY, pass_context=True)
    async def draft_run(context: JobContext, thread_id: str) -> None:
        # a draining worker has stopped its heartbeat: the draft keeps it going (heartbeat.py)
        await with_heartbeat(context, settings.job_heartbeat_seconds, draft, context, thread_id)

    def draft(context: JobContext, thread_id: str) -> None:
        row = get_run(agent.ctx.db, thread_id)
        if row is None:
            return
        if row.outcome == "failed":  # an earlier attempt failed: this is its retry
            requeue_run(agent.ctx.db, thread_id, at=agent.ctx.clock())
        # the lead's lock means no other job runs this thread: a run marked running is one
        # whose worker died (the job came back through retry_stalled)
        taking_over = (row.worker or "") if row.outcome == "running" else None
        try:
            run_draft(agent, thread_id, worker=me, taking_over=taking_over)
        except Exception as exc:
            _say_when_retried(agent, thread_id, context, exc)
            raise

    agent.ctx.handoffs = _QueuedHandoffs(app)  # the graphs this worker runs defer webhooks
    agent.ctx.scheduled_sends = _QueuedSends(app)  # and sends waiting for the send window

    @app.task(name=SCHEDULED_SEND, queue=SENDS)
    def scheduled_send(approval_id: str) -> None:
        # no retry: a send that failed midway is needs_check for a human, never sent again
        result = send_scheduled(agent.ctx, approval_id)
        log.info("scheduled send %s: %s (%s)", approval_id, result.outcome, result.detail)
        if result.due is not None:  # early by our clock, or the window closed: wait again
            defer_scheduled_send(app, approval_id, result.due)

    @app.periodic(cron="* * * * * */30", periodic_id="due_sends")
    @app.task(name="nurture.due_sends", queue=UPKEEP)
    def due_sends(timestamp: int) -> None:
        # sends scheduled where no queue was at hand (the CLI, LangGraph Server), or whose job
        # was lost: due ones get a job now (the queueing lock keeps it to one)
        for approval_id in due_scheduled(agent.ctx.db, now=agent.ctx.clock()):
            defer_scheduled_send(app, approval_id, agent.ctx.clock())

    @app.task(
        name=HANDOFF_WEBHOOK, queue=HANDOFFS, retry=handoff_retry(settings), pass_context=True
    )
    async def handoff_webhook(context: JobContext, handoff_id: str) -> None:
        assert context.job is not None  # procrastinate passes the job it runs
        last = context.job.attempts + 1 >= settings.handoff_attempts
        # a slow receiver outlasts a draining worker's heartbeat: keep it going (heartbeat.py)
        await with_heartbeat(
            context, settings.job_heartbeat_seconds, attempt, agent.ctx, handoff_id, last=last
        )

    @app.task(name=RESUME_ANSWER, queue=DRAFTS, retry=DRAFT_RETRY, pass_context=True)
    async def resume_answered(context: JobContext, approval_id: str) -> None:
        # a retry after its worker died finds the thread past the review: resume_answer then
        # finishes the node left unfinished, and a claimed send is flagged, never repeated.
        # A revision drafts again (a model call) and a send waits on SMTP: both can outlast a
        # draining worker's heartbeat, so the job keeps it going like a draft run
        await with_heartbeat(
            context, settings.job_heartbeat_seconds, resume_answer, agent, approval_id
        )

    @app.task(name=PLAYBOOK_PREVIEW, queue=PREVIEWS, pass_context=True)
    async def playbook_preview(context: JobContext, preview_id: str) -> None:
        # a minute or more over every lead: longer than a draining worker's heartbeat lasts
        await with_heartbeat(context, settings.job_heartbeat_seconds, preview, preview_id)

    def preview(preview_id: str) -> None:
        row = get_preview(agent.ctx.db, preview_id)
        if row is None:
            return
        # no retry on an error (the row says why; asking again makes a new preview); a worker
        # that died mid-way: retry_stalled runs the job again, and it takes the preview over
        taking_over = (row.worker or "") if row.status == "running" else None
        run_preview_job(agent.ctx, preview_id, worker=me, taking_over=taking_over)

    @app.task(name=REDECIDE, queue=DECISIONS)
    def redecide_lead(lead_id: str) -> None:
        redecide(agent, [lead_id])

    if settings.sweep_seconds > 0:
        every = max(1, round(settings.sweep_seconds / 60))

        @app.periodic(cron=f"*/{every} * * * *", periodic_id="sweep")
        @app.task(name="nurture.sweep", queue=UPKEEP)
        def sweep(timestamp: int) -> None:
            ctx = agent.ctx
            max_age = timedelta(hours=settings.decision_max_age_hours)
            stale = stale_decisions(ctx.db, now=ctx.clock(), max_age=max_age, limit=2_000)
            for lead_id in stale:
                try:
                    app.configure_task(
                        REDECIDE, queue=DECISIONS, queueing_lock=f"redecide:{lead_id}"
                    ).defer(lead_id=lead_id)
                except AlreadyEnqueued:
                    pass

    stall = settings.job_stall_seconds
    check_every = max(1, min(59, stall // 2))

    @app.periodic(cron=f"* * * * * */{check_every}", periodic_id="retry_stalled")
    @app.task(name="nurture.retry_stalled", queue=UPKEEP, pass_context=True)
    async def retry_stalled(context: JobContext, timestamp: int) -> None:
        manager = context.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stall):
            log.warning(
                "job %s (%s) stalled: its worker is gone; retrying it", job.id, job.task_name
            )
            await manager.retry_job(job)

    return app


def _say_when_retried(
    agent: NurtureAgent, thread_id: str, context: JobContext, exc: Exception
) -> None:
    """The run failed (run_draft said so); when procrastinate will run it again, it is queued
    with the error and the time of the retry instead: `failed` only once no retry is left."""
    assert context.job is not None  # procrastinate passes the job it runs
    decision = DRAFT_RETRY.get_retry_decision(exception=exc, job=context.job)
    if decision is None:
        return
    now = agent.ctx.clock()
    error = str(exc) or type(exc).__name__
    retry_run_later(agent.ctx.db, thread_id, error=error, at=now, retry_at=decision.retry_at or now)


def run_worker(
    agent: NurtureAgent,
    settings: Settings,
    *,
    concurrency: int,
    queues: Iterable[str] = QUEUES,
    install_signal_handlers: bool = True,
) -> None:
    """Runs jobs until stopped. SIGTERM or SIGINT drain it: it takes no new job and finishes
    those it holds (procrastinate's graceful stop)."""
    app = worker_app(agent, settings)
    app.run_worker(
        queues=list(queues),
        concurrency=concurrency,
        update_heartbeat_interval=settings.job_heartbeat_seconds,
        stalled_worker_timeout=settings.job_stall_seconds,
        install_signal_handlers=install_signal_handlers,
        name=worker_id(),
    )


class WorkerThread:
    """A worker inside another process (`nurture serve` without --no-worker): its own thread
    and event loop, stopped like a SIGTERM would stop it (jobs held are finished first)."""

    def __init__(self, agent: NurtureAgent, settings: Settings, concurrency: int) -> None:
        self._agent, self._settings, self._concurrency = agent, settings, concurrency
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nurture-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(30)

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        app = worker_app(self._agent, self._settings)
        async with app.open_async():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(
                app.run_worker_async(
                    queues=list(QUEUES),
                    concurrency=self._concurrency,
                    update_heartbeat_interval=self._settings.job_heartbeat_seconds,
                    stalled_worker_timeout=self._settings.job_stall_seconds,
                    install_signal_handlers=False,
                    name=worker_id(),
                )
            )
            self._ready.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
