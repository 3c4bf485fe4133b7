"""Deciding leads off the request path: the re-decision of leads after new events (coalesced
per lead) and the sweep that re-decides leads whose decision went stale with time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Generic, TypeVar

from agent.decisions import Decision, decide
from agent.errors import NurtureError
from agent.runner import NurtureAgent
from agent.store.decisions import record_decisions, stale_decisions
from agent.tools.timeline import load_signals

log = logging.getLogger(__name__)
T = TypeVar("T")


class Coalescer(Generic[T]):
    """Work keyed by lead, done off the request path in batches, one pass at a time: a lead
    named again while a pass runs is handled once more, not once per request, so a burst of
    requests cannot queue more work than there are leads."""

    def __init__(
        self, workers: ThreadPoolExecutor, work: Callable[[list[T]], object], what: str
    ) -> None:
        self._workers, self._work, self._what = workers, work, what
        self._lock = threading.Lock()
        self._waiting: dict[str, T] = {}
        self._scheduled = False

    def add(self, items: dict[str, T]) -> None:
        """`items` by lead id; a later item for a lead replaces one not yet handled."""
        with self._lock:
            self._waiting.update(items)
            if self._scheduled or not self._waiting:
                return
            self._scheduled = True
        in_background(self._workers, self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = [self._waiting[k] for k in sorted(self._waiting)], {}
                if not batch:
                    self._scheduled = False
                    return
            try:
                self._work(batch)
            except Exception:  # noqa: BLE001 - logged; the next batch must still be handled
                log.exception("%s failed for %d leads", self._what, len(batch))


class Sweeper:
    """Every `every` seconds, hands the leads whose recorded decision went stale with time to
    the re-decider, so list filters stay true without new events. A daemon thread; `stop()`
    ends it at once."""

    BATCH = 2_000

    def __init__(
        self, agent: NurtureAgent, redecider: Coalescer[str], every: float, max_age: timedelta
    ) -> None:
        self._agent, self._redecider = agent, redecider
        self._every, self._max_age = every, max_age
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="decision-sweeper", daemon=True)

    def start(self) -> None:
        if self._every > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def sweep(self) -> int:
        """One pass: how many stale leads were handed over."""
        ctx = self._agent.ctx
        stale = stale_decisions(ctx.db, now=ctx.clock(), max_age=self._max_age, limit=self.BATCH)
        self._redecider.add({lead_id: lead_id for lead_id in stale})
        return len(stale)

    def _loop(self) -> None:
        while not self._stopped.wait(self._every):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - logged; the next pass tries again
                log.exception("decision sweep failed")


def redecide(agent: NurtureAgent, lead_ids: Iterable[str]) -> int:
    """Records a fresh decision for each lead (after its timeline changed). Returns how many."""
    ctx = agent.ctx
    decisions: list[tuple[Decision, str]] = []
    for lead_id in lead_ids:
        now = ctx.clock()
        try:
            lead, timeline = load_signals(ctx.db, lead_id, until=now, playbook=ctx.playbook)
        except NurtureError:
            continue  # deleted meanwhile
        decision = decide(lead, timeline, ctx.playbook, now, explain=False)  # only the row is kept
        decisions.append((decision, ctx.playbook.version))
    record_decisions(ctx.db, decisions)
    return len(decisions)


def in_background(workers: ThreadPoolExecutor, job: Callable[[], object]) -> None:
    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - logged: whoever queued it has returned
            log.exception("background job failed")

    workers.submit(run)
