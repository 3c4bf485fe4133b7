"""The nurturing agent's graph. This file only wires nodes; each node lives in agent/nodes/.

decide ─┬─ suppress / with_sales / wait ─→ record_outcome
        ├─ handoff_to_sales ─────────────→ notify_sales
        └─ send_email / re_engage ─→ retrieve_content → draft_email → check_draft
             ↺ revise (≤ 2) ─┘           human_review (interrupt) → send_email

Outside the playbook's send window the send node sends nothing: it writes the send as scheduled
and the run ends `scheduled`; a job sends it when the window opens (agent/scheduled_sends.py),
outside the graph, so a graph on LangGraph Server schedules the same way (README: "Send windows").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.nodes.content import retrieve_content, route_after_retrieval
from agent.nodes.decide import load_and_decide, record_outcome, route_by_action
from agent.nodes.draft import check_draft_node, draft_email, route_after_check, route_after_draft
from agent.nodes.handoff import notify_sales_node
from agent.nodes.review import human_review
from agent.nodes.send import send_email
from agent.state import AgentState, InputState


class _StateNode(Protocol):
    def __call__(self, state: AgentState) -> Any: ...


def _injected(
    node: Callable[[AgentState, Runtime[AgentContext], RunnableConfig], Any],
) -> _StateNode:
    """LangGraph passes `runtime` and `config` to a node by parameter name (as its docs show),
    but its add_node overloads only describe nodes that take one of them. This checks the node's
    signature and hands it over as the state-only kind: the same function, LangGraph still
    injects both."""
    return cast(_StateNode, node)


def build_graph() -> StateGraph[Any, Any, Any, Any]:
    builder = StateGraph(AgentState, input_schema=InputState, context_schema=AgentContext)
    builder.add_node("load_and_decide", _injected(load_and_decide))
    builder.add_node("record_outcome", _injected(record_outcome))
    builder.add_node("notify_sales", _injected(notify_sales_node))
    builder.add_node("retrieve_content", _injected(retrieve_content))
    builder.add_node("draft_email", _injected(draft_email))
    builder.add_node("check_draft", check_draft_node)
    builder.add_node("human_review", _injected(human_review))
    builder.add_node("send_email", _injected(send_email))

    builder.add_edge(START, "load_and_decide")
    builder.add_conditional_edges("load_and_decide", route_by_action)
    builder.add_edge("record_outcome", END)
    builder.add_edge("notify_sales", END)
    builder.add_conditional_edges("retrieve_content", route_after_retrieval)
    builder.add_conditional_edges("draft_email", route_after_draft)
    builder.add_conditional_edges("check_draft", route_after_check)
    builder.add_edge("send_email", END)
    return builder


graph = build_graph().compile()
"""For LangGraph Studio / Server (langgraph.json), compiled without a checkpointer: the server
gives it the one langgraph.json names, the project's own (agent/checkpoints.py)."""
