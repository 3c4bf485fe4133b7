"""Scheduled sends on the SQLite default: one thread of this process sleeps until the earliest
send due in the store (or a poll interval, for sends another process scheduled, like the CLI or
LangGraph Server) and sends what is due. The store is the only schedule: a process that starts
picks up every scheduled send, including those due while it was down. On PostgreSQL the same
`send_scheduled` runs as a procrastinate job deferred with `schedule_at` (agent/jobs/queue.py)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from agent.context import AgentContext
from agent.scheduled_sends import send_scheduled
from agent.store.scheduled_sends import due_scheduled, next_scheduled

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0
"""How often the store is read again when this process scheduled nothing sooner itself."""


class LocalScheduledSends:
    def __init__(self, ctx: AgentContext, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._ctx = ctx
        self._poll = poll_seconds
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="scheduled-sends", daemon=True)

    def schedule_send(self, approval_id: str, at: datetime) -> None:
        """The send is in the store already: wake the loop so it sleeps until the new earliest."""
        with self._wake:
            self._wake.notify_all()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def send_due(self) -> int:
        """Sends every scheduled send whose moment has come. Returns how many were tried."""
        due = due_scheduled(self._ctx.db, now=self._ctx.clock())
        for approval_id in due:
            try:
                result = send_scheduled(self._ctx, approval_id)
                log.info("scheduled send %s: %s (%s)", approval_id, result.outcome, result.detail)
            except Exception:  # noqa: BLE001 - the send row says needs_check; go on with others
                log.exception("scheduled send %s failed", approval_id)
        return len(due)

    def _loop(self) -> None:
        while True:
            try:
                self.send_due()
                earliest = next_scheduled(self._ctx.db)
            except Exception:  # noqa: BLE001 - logged; the next pass tries again
                log.exception("reading the scheduled sends failed")
                earliest = None
            wait = self._poll
            if earliest is not None:
                wait = min(wait, max(0.0, (earliest - self._ctx.clock()).total_seconds()))
            with self._wake:
                if not self._stopped:
                    self._wake.wait(timeout=wait)
            if self._stopping():
                return

    def _stopping(self) -> bool:
        with self._wake:
            return self._stopped
