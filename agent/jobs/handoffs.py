"""The hand-off webhook job: one delivery attempt per run (agent/handoffs.py), retried with
exponential backoff while the failure is transient (connection error, timeout, 429, 5xx) and
attempts remain (NURTURE_HANDOFF_ATTEMPTS, NURTURE_HANDOFF_BACKOFF_SECONDS). On PostgreSQL it is
the procrastinate task `nurture.handoff_webhook` (agent/jobs/queue.py); here, its version on
this process's threads for the SQLite default."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from agent.context import AgentContext
from agent.handoffs import WebhookRetry, attempt
from agent.store.handoffs import get_handoff, unsettled_handoffs

log = logging.getLogger(__name__)


def backoff_seconds(base: int, retries_before: int) -> int:
    """The wait before the next attempt, as procrastinate's exponential_wait counts it."""
    return int(base ** (retries_before + 1))


class LocalHandoffs:
    """Delivers on the executor's pool; a retry waits on a timer, not on a pool thread."""

    def __init__(self, ctx: AgentContext, pool: ThreadPoolExecutor) -> None:
        self._ctx, self._pool = ctx, pool
        self._timers: set[threading.Timer] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def deliver(self, handoff_id: str) -> None:
        self._pool.submit(self._attempt, handoff_id)

    def pick_up_unsettled(self) -> None:
        """Deliveries a process that stopped left queued or waiting for a retry."""
        for handoff_id in unsettled_handoffs(self._ctx.db):
            self.deliver(handoff_id)

    def stop(self) -> None:
        """Cancels the retries waiting; their rows stay `retrying` for the next start."""
        with self._lock:
            self._stopped = True
            for timer in self._timers:
                timer.cancel()

    def _attempt(self, handoff_id: str) -> None:
        settings = self._ctx.settings
        row = get_handoff(self._ctx.db, handoff_id)
        done = row.attempts if row is not None else 0
        try:
            attempt(self._ctx, handoff_id, last=done + 1 >= settings.handoff_attempts)
        except WebhookRetry as retry:
            wait = backoff_seconds(settings.handoff_backoff_seconds, done)
            log.warning("%s; again in %s s", retry, wait)
            self._later(wait, handoff_id)
        except Exception:  # noqa: BLE001 - the row stays unsettled; the next start tries again
            log.exception("hand-off %s: delivery failed", handoff_id)

    def _later(self, wait: float, handoff_id: str) -> None:
        with self._lock:
            if self._stopped:
                return
            timer = threading.Timer(wait, self._retry, (handoff_id,))
            timer.daemon = True
            self._timers.add(timer)
            timer.start()

    def _retry(self, handoff_id: str) -> None:
        with self._lock:
            self._timers = {
                t for t in self._timers if t.is_alive() and t is not threading.current_thread()
            }
            if self._stopped:
                return
        self._pool.submit(self._attempt, handoff_id)
