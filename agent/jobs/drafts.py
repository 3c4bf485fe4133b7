"""The draft run job: take a queued run from the store, run the graph, say in the store where
it ended (or why it failed). The same code runs it in a service, a worker and the CLI."""

from __future__ import annotations

from agent.errors import NurtureError
from agent.jobs.workers import worker_gone
from agent.runner import NurtureAgent, RunResult
from agent.store.runs import (
    DraftRefused,
    claim_run,
    fail_run,
    get_run,
    queue_run,
    requeue_run,
)


def accept_draft(agent: NurtureAgent, lead_id: str) -> str:
    """Writes a queued draft run for the lead and returns its thread id; DraftRefused when the
    lead has a run going or a draft waiting."""
    ctx = agent.ctx
    thread_id = agent.new_thread_id()
    queue_run(
        ctx.db,
        thread_id=thread_id,
        lead_id=lead_id,
        at=ctx.clock(),
        playbook_version=ctx.playbook.version,
    )
    return thread_id


def run_draft(
    agent: NurtureAgent, thread_id: str, *, worker: str, taking_over: str | None = None
) -> RunResult | None:
    """Claims the run and runs it to where it stops; None when another worker has it or it
    ended. A run with a checkpoint (its worker died mid-way) continues from there, so nothing
    done is done twice and a send is never repeated."""
    db = agent.ctx.db
    row = claim_run(db, thread_id, worker=worker, at=agent.ctx.clock(), taking_over=taking_over)
    if row is None:
        return None
    try:
        if agent.graph.get_state(agent.config(thread_id)).values:
            return agent.recover(thread_id)
        return agent.start(row.lead_id, thread_id=thread_id)
    except Exception as exc:
        fail_run(db, thread_id, error=str(exc) or type(exc).__name__, at=agent.ctx.clock())
        raise


def recover_run(agent: NurtureAgent, thread_id: str, *, worker: str) -> RunResult:
    """Takes a run from wherever a process left it, or says why not (NurtureError)."""
    db = agent.ctx.db
    row = get_run(db, thread_id)
    if row is None and not agent.graph.get_state(agent.config(thread_id)).values:
        raise NurtureError(f"no run with thread id '{thread_id}'")
    if row is not None and row.outcome == "failed":
        requeue_run(db, thread_id, at=agent.ctx.clock())
        row = get_run(db, thread_id)
    if row is not None and row.outcome in ("queued", "running"):
        taking_over = None
        if row.outcome == "running":
            if not worker_gone(row.worker):
                raise DraftRefused(
                    f"run '{thread_id}' is running on {row.worker} since "
                    f"{row.running_since:%Y-%m-%d %H:%M:%S} UTC: wait for it, or stop that "
                    "process and try again"
                )
            taking_over = row.worker
        result = run_draft(agent, thread_id, worker=worker, taking_over=taking_over)
        if result is None:
            raise DraftRefused(f"run '{thread_id}' was just taken by another process")
        return result
    return agent.recover(thread_id)
