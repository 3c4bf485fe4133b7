"""The job that resumes a thread once a person has answered its draft: the answer is already
claimed in the store (agent.store.answers), so the job only takes it to the thread, and may run
again after its worker died (a claimed send is then flagged, never repeated). Whoever accepted
the answer may wait a moment for the outcome, read from the store."""

from __future__ import annotations

import time

from agent.runner import NurtureAgent, RunResult
from agent.store.answers import answer_settled
from agent.store.database import Database


def resume_answer(agent: NurtureAgent, approval_id: str) -> RunResult:
    return agent.resume_answered(approval_id)


def wait_for_answer(db: Database, approval_id: str, *, seconds: float) -> bool:
    """Polls the store until the claimed answer has taken its thread somewhere (True) or
    `seconds` pass (False): the job may run in any process."""
    deadline = time.monotonic() + seconds
    pause = 0.01
    while not answer_settled(db, approval_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.2)  # quick answers come back quickly; slow ones poll gently
    return True
