"""Runs the graph for people and services: start a draft for a lead, answer an approval (from
any process: the checkpoint holds the waiting thread), recover an interrupted thread."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from agent.context import AgentContext
from agent.errors import NurtureError
from agent.graph import build_graph
from agent.store.approvals import Answer, check_answer
from agent.store.runs import get_run


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
        feedback: str | None = None,
        subject: str | None = None,
        body: str | None = None,
        override_guardrails: bool = False,
    ) -> RunResult:
        """Resumes the waiting thread with that answer, in Agent Inbox's shape; the graph's
        review node records who decided what (as for any client). What it would refuse is
        refused here first, with the thread still waiting: accepting a draft whose guardrails
        failed raises GuardrailsNotOverridden unless `override_guardrails` says the person
        means it; a decided one raises AlreadyDecided. An answer that loses a race to another
        raises AlreadyDecided from the graph, having sent nothing."""
        row = check_answer(
            self.ctx.db,
            approval_id,
            answer=answer,
            feedback=feedback,
            subject=subject,
            body=body,
            override_guardrails=override_guardrails,
        )
        args: Any = None
        if answer == "respond":
            args = feedback or ""
        elif answer == "edit":
            args = {
                "action": "send_email",
                "args": {"subject": subject or row.subject, "body": body or row.body},
            }
        response = {
            "type": "response" if answer == "respond" else answer,
            "args": args,
            "by": by,
            "override_guardrails": override_guardrails,
        }
        self.graph.invoke(Command(resume=[response]), self.config(row.thread_id), context=self.ctx)
        return self.result(row.thread_id)

    def recover(self, thread_id: str) -> RunResult:
        """Re-runs whatever node an interrupted process left unfinished (never re-sends)."""
        snapshot = self.graph.get_state(self.config(thread_id))
        if not snapshot.values:
            raise NurtureError(f"no run with thread id '{thread_id}'")
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
