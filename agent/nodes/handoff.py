"""Hand a lead to sales: record it, notify the rep (HMAC-signed webhook, delivered by a job
when the graph runs under an executor), draft nothing."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.handoff_notice import email_rep
from agent.handoff_routing import assign
from agent.handoffs import deliver_now
from agent.nodes.common import context_of, finish, thread_id
from agent.state import AgentState
from agent.store.handoffs import Assignee, get_handoff, record_handoff
from agent.store.ingest import ingest_events
from agent.store.leads import load_lead
from agent.store.schema import HandoffRow
from agent.tools.crm import encode_payload


def notify_sales_node(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    ctx = context_of(runtime)
    handoff_id = f"handoff-{thread_id(config)}"
    reason = state["decision"]["reasons"][0]
    lead = load_lead(ctx.db, state["lead_id"])
    account = state["decision"].get("account")
    existing = get_handoff(ctx.db, handoff_id)  # a resumed graph keeps the rep it had
    # an account goes to the owner its engaged contacts share, else the lead's as usual
    owner = (account or {}).get("owner") or (lead.owner if lead else None)
    assignee = _assignee_of(existing) if existing is not None else assign(ctx.db, owner)
    payload = _as_json(
        {
            "handoff_id": handoff_id,
            "lead_id": state["lead_id"],
            "lead_name": lead.name if lead else None,
            "lead_email": lead.email if lead else None,
            "company": lead.company if lead else None,
            "assigned_to": assignee.email if assignee else None,
            "rule": reason["rule"],
            "reason": reason["text"],
            "score": state["decision"]["score"]["total"],
            "stage": state["decision"]["stage"],
            "at": state["at"],
            **_account_fields(account),
        }
    )
    record_handoff(
        ctx.db,
        handoff_id=handoff_id,
        lead_id=state["lead_id"],
        rule=reason["rule"],
        reason=reason["text"],
        payload=payload,
        webhook_status="queued" if ctx.settings.sales_webhook_url else "not_configured",
        at=ctx.clock(),
        assignee=assignee,
    )
    status = _deliver(ctx, handoff_id)
    # The handoff event puts the lead with sales: the next decision is with_sales.
    ingest_events(
        ctx.db,
        [
            {
                "id": handoff_id,
                "lead_id": state["lead_id"],
                "type": "handoff",
                "occurred_at": ctx.clock().isoformat(),
                "properties": {"rule": reason["rule"]},
            }
        ],
        ctx.playbook,
        now=ctx.clock(),
    )
    return finish(
        ctx,
        config,
        dict(state),
        "handed_off",
        f"{reason['rule']}: {reason['text']} (webhook {status})",
    )


def _deliver(ctx: AgentContext, handoff_id: str) -> str:
    """Hands the webhook to the executor (status `queued`), or delivers it now when the graph
    runs without one."""
    if not ctx.settings.sales_webhook_url:
        # no webhook: the assigned rep hears by email; the hand-off waits in the list either way
        return "not_configured, rep emailed" if email_rep(ctx, handoff_id) else "not_configured"
    if ctx.handoffs is None:
        return deliver_now(ctx, handoff_id)
    ctx.handoffs.deliver_handoff(handoff_id)
    return "queued"


def _account_fields(account: dict[str, Any] | None) -> dict[str, Any]:
    """The buying committee for the rep: the account and its engaged contacts (name, role,
    score), when the account handed the lead over."""
    if not account:
        return {}
    return {"account": account["id"], "account_contacts": account["engaged_contacts"]}


def _assignee_of(row: HandoffRow) -> Assignee | None:
    if row.assigned_key_id is None or row.assigned_to is None:
        return None
    return Assignee(row.assigned_key_id, row.assigned_to)


def _as_json(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the webhook's body has it (timestamps as text), so the stored copy gives
    the same bytes on every attempt."""
    decoded: dict[str, Any] = json.loads(encode_payload(payload))
    return decoded
