"""Work the API finishes after answering that is no job of its own: writing the decisions GET
next made, many per transaction. Durable work (draft runs, re-decisions) is in agent/jobs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from agent.decisions import Decision
from agent.jobs.decisions import Coalescer, in_background
from agent.runner import NurtureAgent
from agent.store.decisions import record_decisions

__all__ = ["decision_recorder", "in_background"]


def decision_recorder(
    agent: NurtureAgent, workers: ThreadPoolExecutor
) -> Coalescer[tuple[Decision, str]]:
    """Writes decisions the API made (GET next) after the response, many per transaction: on
    SQLite a write per request serialised the route (a third of its time went to the upsert)."""
    return Coalescer(workers, lambda rows: record_decisions(agent.ctx.db, rows), "recording")
