"""Delivering a recorded hand-off to the sales webhook, and what each attempt means for its row.

The node records the hand-off first (agent/nodes/handoff.py); then either a job executor
delivers it with retries and backoff (`attempt`, called once per job run), or, when the graph
runs without one (LangGraph Server), the node delivers it at once (`deliver_now`: a few quick
retries, as before jobs existed)."""

from __future__ import annotations

from agent.context import AgentContext
from agent.handoff_notice import slack_body
from agent.store.handoffs import get_handoff, record_attempt
from agent.tools.crm import WebhookResult, notify_sales

SETTLED = ("delivered", "failed", "not_configured")


class WebhookRetry(Exception):  # noqa: N818 - what it asks for, not what went wrong
    """A transient failure (connection error, timeout, 429, 5xx): the job tries again later."""


def attempt(ctx: AgentContext, handoff_id: str, *, last: bool) -> str:
    """One request for the hand-off; returns its status after it. Raises WebhookRetry after a
    transient failure unless this was the `last` attempt (then it is failed, with why)."""
    row = get_handoff(ctx.db, handoff_id)
    if row is None or row.webhook_status in SETTLED:
        return row.webhook_status if row is not None else "missing"
    result = _post(ctx, row.payload)
    if result is None:
        return _settle(ctx, handoff_id, "not_configured", None, 0)
    if result.delivered:
        return _settle(ctx, handoff_id, "delivered", None, result.attempts)
    if result.retryable and not last:
        _settle(ctx, handoff_id, "retrying", result.error, result.attempts)
        raise WebhookRetry(f"hand-off {handoff_id}: {result.error}")
    reason = result.error or "not delivered"
    if result.retryable:
        reason = f"gave up after {row.attempts + result.attempts} attempts: {reason}"
    return _settle(ctx, handoff_id, "failed", reason, result.attempts)


def deliver_now(ctx: AgentContext, handoff_id: str) -> str:
    """Delivers in the caller, with notify_sales's brief retries; returns the status."""
    row = get_handoff(ctx.db, handoff_id)
    if row is None or row.webhook_status in SETTLED:
        return row.webhook_status if row is not None else "missing"
    result = _post(ctx, row.payload, max_attempts=3)
    if result is None:
        return _settle(ctx, handoff_id, "not_configured", None, 0)
    status = "delivered" if result.delivered else "failed"
    return _settle(ctx, handoff_id, status, result.error, result.attempts)


def _post(
    ctx: AgentContext, payload: dict[str, object] | None, *, max_attempts: int = 1
) -> WebhookResult | None:
    url = ctx.settings.sales_webhook_url
    if not url or payload is None:
        return None
    secret = ctx.settings.webhook_secret.get_secret_value()
    body = dict(payload)
    if ctx.settings.handoff_webhook_format == "slack":
        body = slack_body(body)
    return notify_sales(url, secret, body, max_attempts=max_attempts)


def _settle(ctx: AgentContext, handoff_id: str, status: str, error: str | None, n: int) -> str:
    record_attempt(ctx.db, handoff_id, status=status, error=error, attempts=n, at=ctx.clock())
    return status
