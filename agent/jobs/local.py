"""The embedded executor: jobs on threads of this process, for the SQLite default (one
service, nothing to install). Draft runs are durable all the same: they are queued in the store
before anyone hears of them, and `start` takes up what a process that died left behind."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from agent.jobs.answers import resume_answer
from agent.jobs.decisions import Coalescer, Sweeper, redecide
from agent.jobs.drafts import run_draft
from agent.jobs.handoffs import LocalHandoffs
from agent.jobs.previews import run_preview_job
from agent.jobs.scheduled import LocalScheduledSends
from agent.jobs.workers import worker_gone, worker_id
from agent.runner import NurtureAgent
from agent.settings import Settings
from agent.store.answers import answering
from agent.store.previews import unfinished_previews
from agent.store.runs import unfinished_runs

log = logging.getLogger(__name__)


class LocalExecutor:
    def __init__(self, agent: NurtureAgent, settings: Settings) -> None:
        self._agent = agent
        self.worker = worker_id()
        self._pool = ThreadPoolExecutor(
            max_workers=settings.draft_concurrency, thread_name_prefix="nurture-job"
        )
        self.redecider: Coalescer[str] = Coalescer(
            self._pool, lambda lead_ids: redecide(agent, lead_ids), "re-deciding"
        )
        max_age = timedelta(hours=settings.decision_max_age_hours)
        self.sweeper = Sweeper(agent, self.redecider, settings.sweep_seconds, max_age)
        self.handoffs = LocalHandoffs(agent.ctx, self._pool)
        # one preview at a time, on a thread of its own: a minute over every lead must not hold
        # a draft thread
        self._previews = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nurture-preview")
        self._stopping = threading.Event()
        self.scheduled = LocalScheduledSends(agent.ctx)

    def submit_draft(self, thread_id: str, lead_id: str) -> None:
        self._pool.submit(self._draft, thread_id, None)

    def submit_answer(self, approval_id: str, lead_id: str) -> None:
        self._pool.submit(self._answer, approval_id)

    def redecide(self, lead_ids: Iterable[str]) -> None:
        self.redecider.add({lead_id: lead_id for lead_id in lead_ids})

    def deliver_handoff(self, handoff_id: str) -> None:
        self.handoffs.deliver(handoff_id)

    def schedule_send(self, approval_id: str, at: datetime) -> None:
        self.scheduled.schedule_send(approval_id, at)

    def submit_preview(self, preview_id: str) -> None:
        self._previews.submit(self._preview, preview_id, None)

    def start(self) -> None:
        self._agent.ctx.handoffs = self  # the graphs this process runs hand webhooks to us
        self._agent.ctx.scheduled_sends = self  # and the sends waiting for their window
        self.scheduled.start()  # its first pass sends what fell due while no process ran
        self.pick_up_unfinished()
        self.pick_up_answers()
        self.pick_up_previews()
        self.handoffs.pick_up_unsettled()
        self.sweeper.start()

    def stop(self) -> None:
        """Finishes the runs being run; those still queued stay queued in the store, for the
        next start."""
        if self._agent.ctx.handoffs is self:
            self._agent.ctx.handoffs = None  # runs after this deliver at once again
        if self._agent.ctx.scheduled_sends is self:
            self._agent.ctx.scheduled_sends = None  # the store keeps them for the next start
        # a preview running puts itself back in the queue after its chunk, for the next start:
        # a stop is not held for the minute a large one takes
        self._stopping.set()
        self.scheduled.stop()
        self.sweeper.stop()
        self.handoffs.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._previews.shutdown(wait=True, cancel_futures=True)

    def pick_up_unfinished(self) -> int:
        """Queues again the runs left queued, and those left running by a process that is gone.
        Returns how many."""
        taken = 0
        for row in unfinished_runs(self._agent.ctx.db):
            if row.outcome == "queued":
                self._pool.submit(self._draft, row.thread_id, None)
            elif worker_gone(row.worker):
                self._pool.submit(self._draft, row.thread_id, row.worker or "")
            else:
                continue
            taken += 1
        if taken:
            log.warning("picked up %d draft runs a previous process left unfinished", taken)
        return taken

    def pick_up_answers(self) -> int:
        """Resumes the threads of answers a process that died had claimed but not taken to
        their thread. Returns how many."""
        rows = answering(self._agent.ctx.db)
        for row in rows:
            self._pool.submit(self._answer, row.id)
        if rows:
            log.warning("picked up %d answers a previous process left unfinished", len(rows))
        return len(rows)

    def pick_up_previews(self) -> int:
        """Runs the previews left queued, and those left running by a process that is gone
        (from the first lead again). Returns how many."""
        taken = 0
        for row in unfinished_previews(self._agent.ctx.db):
            if row.status == "queued":
                self._previews.submit(self._preview, row.id, None)
            elif worker_gone(row.worker):
                self._previews.submit(self._preview, row.id, row.worker or "")
            else:
                continue
            taken += 1
        if taken:
            log.warning("picked up %d playbook previews a previous process left unfinished", taken)
        return taken

    def _preview(self, preview_id: str, taking_over: str | None) -> None:
        try:
            run_preview_job(
                self._agent.ctx, preview_id, worker=self.worker, taking_over=taking_over
            )
        except Exception:  # noqa: BLE001 - the store says it failed and why; log the trace
            log.exception("playbook preview %s failed", preview_id)

    def _answer(self, approval_id: str) -> None:
        try:
            resume_answer(self._agent, approval_id)
        except Exception:  # noqa: BLE001 - the approval stays answering: recover finishes it
            log.exception("resuming the thread of answered approval %s failed", approval_id)

    def _draft(self, thread_id: str, taking_over: str | None) -> None:
        try:
            run_draft(self._agent, thread_id, worker=self.worker, taking_over=taking_over)
        except Exception:  # noqa: BLE001 - the store says it failed and why; log the trace
            log.exception("draft run %s failed", thread_id)
