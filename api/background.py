"""Work the API accepts and finishes later: draft runs and re-deciding leads after new events.
Both run on the service's worker pool so a request returns at once."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from agent.decisions import Decision, decide
from agent.errors import NurtureError
from agent.runner import NurtureAgent
from agent.store.decisions import record_decisions
from agent.tools.timeline import load_timeline

log = logging.getLogger(__name__)

REMEMBERED_FAILURES = 1_000


class RunTracker:
    """Which draft runs are queued or running in this process, and why recent ones failed.
    Finished runs are read from the store, not from here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, str] = {}
        self._failed: OrderedDict[str, str] = OrderedDict()

    def submit(self, workers: ThreadPoolExecutor, agent: NurtureAgent, lead_id: str) -> str:
        thread_id = agent.new_thread_id(lead_id)
        with self._lock:
            self._active[thread_id] = "queued"
        workers.submit(self._run, agent, lead_id, thread_id)
        return thread_id

    def status(self, thread_id: str) -> str | None:
        """queued, running, 'failed: <why>', or None when this process holds nothing on it."""
        with self._lock:
            if thread_id in self._failed:
                return f"failed: {self._failed[thread_id]}"
            return self._active.get(thread_id)

    def _run(self, agent: NurtureAgent, lead_id: str, thread_id: str) -> None:
        with self._lock:
            self._active[thread_id] = "running"
        try:
            agent.start(lead_id, thread_id=thread_id)
        except Exception as exc:  # noqa: BLE001 - a failed run is reported, never lost silently
            log.exception("draft run %s failed", thread_id)
            with self._lock:
                self._failed[thread_id] = str(exc) or type(exc).__name__
                while len(self._failed) > REMEMBERED_FAILURES:
                    self._failed.popitem(last=False)
        finally:
            with self._lock:
                self._active.pop(thread_id, None)


class Redecider:
    """Re-decides leads whose timelines changed, coalesced: a lead named by ten batches while
    a pass is running is decided once more, not ten times, and one pass runs at a time, so a
    burst of ingest cannot queue more work than there are leads."""

    def __init__(self, agent: NurtureAgent, workers: ThreadPoolExecutor) -> None:
        self._agent, self._workers = agent, workers
        self._lock = threading.Lock()
        self._waiting: set[str] = set()
        self._scheduled = False

    def add(self, lead_ids: Iterable[str]) -> None:
        with self._lock:
            self._waiting.update(lead_ids)
            if self._scheduled or not self._waiting:
                return
            self._scheduled = True
        in_background(self._workers, self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = sorted(self._waiting), set()
                if not batch:
                    self._scheduled = False
                    return
            try:
                redecide(self._agent, batch)
            except Exception:  # noqa: BLE001 - logged; the next batch must still be decided
                log.exception("re-deciding %d leads failed", len(batch))


class DecisionRecorder:
    """Writes decisions the API made (GET next) after the response, many per transaction: on
    SQLite a write per request serialised the route (a third of its time went to the upsert).
    A later decision for the same lead replaces an unwritten earlier one."""

    def __init__(self, agent: NurtureAgent, workers: ThreadPoolExecutor) -> None:
        self._db, self._workers = agent.ctx.db, workers
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[Decision, str]] = {}
        self._scheduled = False

    def add(self, decision: Decision, playbook_version: str) -> None:
        with self._lock:
            self._waiting[decision.lead_id] = (decision, playbook_version)
            if self._scheduled:
                return
            self._scheduled = True
        in_background(self._workers, self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = list(self._waiting.values()), {}
                if not batch:
                    self._scheduled = False
                    return
            try:
                record_decisions(self._db, batch)
            except Exception:  # noqa: BLE001 - logged; later decisions must still be written
                log.exception("recording %d decisions failed", len(batch))


def redecide(agent: NurtureAgent, lead_ids: Iterable[str]) -> int:
    """Records a fresh decision for each lead (after its timeline changed). Returns how many."""
    ctx = agent.ctx
    decisions: list[tuple[Decision, str]] = []
    for lead_id in lead_ids:
        now = ctx.clock()
        try:
            lead, events = load_timeline(ctx.db, lead_id, until=now, playbook=ctx.playbook)
        except NurtureError:
            continue  # deleted meanwhile
        decisions.append((decide(lead, events, ctx.playbook, now), ctx.playbook.version))
    record_decisions(ctx.db, decisions)
    return len(decisions)


def in_background(workers: ThreadPoolExecutor, job: Callable[[], object]) -> None:
    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - logged: the request that queued it has returned
            log.exception("background job failed")

    workers.submit(run)
