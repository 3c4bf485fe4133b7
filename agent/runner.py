"""Runs the graph for people and services: start a draft for a lead, answer an approval (from
any process: the checkpoint holds the waiting thread), recover an interrupted thread."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, StateSnapshot
from typing_extensions import Unpack

from agent.context import AgentContext
from agent.errors import NurtureError
from agent.graph import build_graph
from agent.store.answers import claim_answer, claimed_response
from agent.store.approvals import ANSWERING, Answer, AnswerDetails, get_approval
from agent.store.runs import get_run
from agent.store.schema import ApprovalRow


@dataclass(frozen=True, slots=True)
class RunResult:
    thread_id: str
    lead_id: str
    outcome: str
    detail: str | None
    approval_id: str | None
    """Set while a draft waits for a human."""
    drafter: str | None


class NurtureAgent:
    def __init__(self, ctx: AgentContext, checkpointer: BaseCheckpointSaver[str]) -> None:
        self.ctx = ctx
        self.graph = build_graph().compile(checkpointer=checkpointer)

    @staticmethod
    def new_thread_id() -> str:
        """A UUID: LangGraph Server, which shares these checkpoints, takes no other thread id
        (422), so a thread started here could not be answered there. The run's row in the
        store names the lead."""
        return str(uuid.uuid4())

    def start(self, lead_id: str, *, thread_id: str | None = None) -> RunResult:
        """Decides for the lead and, when it should hear from us, drafts and stops for review."""
        thread = thread_id or self.new_thread_id()
        self.graph.invoke({"lead_id": lead_id}, self.config(thread), context=self.ctx)
        return self.result(thread)

    def answer(
        self,
        approval_id: str,
        answer: Answer,
        *,
        by: str,
        **details: Unpack[AnswerDetails],
    ) -> RunResult:
        """Claims the answer and resumes the waiting thread with it, in this process (see
        `claim` and `resume_answered`)."""
        self.claim(approval_id, answer, by=by, **details)
        return self.resume_answered(approval_id)

    def claim(
        self,
        approval_id: str,
        answer: Answer,
        *,
        by: str,
        **details: Unpack[AnswerDetails],
    ) -> ApprovalRow:
        """Writes the answer to the approval (pending → answering) so it outlives this process;
        resuming the thread with it is `resume_answered`, here or in a job. What the graph would
        refuse is refused here first, with the draft still waiting: accepting a draft whose
        guardrails failed raises GuardrailsNotOverridden unless `override_guardrails` says the
        person means it; an approval already claimed or decided raises AlreadyDecided (of two
        concurrent answers, exactly one claims it)."""
        return claim_answer(
            self.ctx.db, approval_id, answer=answer, by=by, at=self.ctx.clock(), **details
        )

    def resume_answered(self, approval_id: str) -> RunResult:
        """Takes a claimed answer to its thread: resumes it when it still waits on this
        approval (the graph's review node records who decided what, as for any client), or
        finishes the node a killed process left unfinished after it (a claimed send is never
        sent again). Running it twice does nothing more."""
        row = get_approval(self.ctx.db, approval_id)
        config = self.config(row.thread_id)
        snapshot = self.graph.get_state(config)
        if row.status != "pending" and waiting_on(snapshot) == approval_id:
            answer = [claimed_response(row)]
            self.graph.invoke(Command(resume=answer), config, context=self.ctx)
        elif snapshot.next and not snapshot.interrupts:
            self.graph.invoke(None, config, context=self.ctx)
        return self.result(row.thread_id)

    def recover(self, thread_id: str) -> RunResult:
        """Re-runs whatever node an interrupted process left unfinished (never re-sends), and
        takes an answer claimed but not yet used to its thread."""
        snapshot = self.graph.get_state(self.config(thread_id))
        if not snapshot.values:
            raise NurtureError(f"no run with thread id '{thread_id}'")
        waiting = waiting_on(snapshot)
        if waiting and get_approval(self.ctx.db, waiting).status == ANSWERING:
            return self.resume_answered(waiting)
        if snapshot.interrupts or not snapshot.next:
            # waiting for a human, or ended: nothing to re-run (resuming an ended thread would
            # raise LangGraph's EmptyInputError); where it stands is the answer
            return self.result(thread_id)
        self.graph.invoke(None, self.config(thread_id), context=self.ctx)
        return self.result(thread_id)

    def result(self, thread_id: str) -> RunResult:
        snapshot = self.graph.get_state(self.config(thread_id))
        values = snapshot.values
        run = get_run(self.ctx.db, thread_id)
        waiting = bool(snapshot.interrupts)
        draft = values.get("draft") or {}
        return RunResult(
            thread_id=thread_id,
            lead_id=values.get("lead_id", run.lead_id if run else ""),
            outcome="awaiting_approval" if waiting else values.get("outcome", "unknown"),
            detail=run.detail if run else None,
            approval_id=run.detail if waiting and run else None,
            drafter=draft.get("drafter"),
        )

    @staticmethod
    def config(thread_id: str) -> RunnableConfig:
        """The LangGraph config that names a thread."""
        return {"configurable": {"thread_id": thread_id}}


def waiting_on(snapshot: StateSnapshot) -> str | None:
    """The approval a thread waits on (its review interrupt names it), if it waits."""
    for pending in snapshot.interrupts:
        requests = pending.value if isinstance(pending.value, list) else [pending.value]
        for request in requests:
            approval_id = (request.get("action_request") or {}).get("args", {}).get("approval_id")
            if approval_id:
                return str(approval_id)
    return None
