"""What people do with a hand-off: a rep accepts it, recycles it back to nurture (with a
reason), or closes it; a marketer or admin may act on any hand-off, a rep only on their own.
Shared by the API, the inbox page and `nurture handoffs`.

Recycling records a `handoff_recycled` event on the lead's timeline: the default playbook's
`with_sales` rule no longer holds, and its hand-off rules wait for new buying signals after it
(their `reset`), so the lead is nurtured again instead of bouncing straight back to sales."""

from __future__ import annotations

from dataclasses import dataclass

from agent.context import AgentContext
from agent.errors import NurtureError
from agent.handoff_states import TARGET, Move
from agent.store.account_context import release_account_holds
from agent.store.handoffs import change_state, get_handoff
from agent.store.ingest import ingest_events
from agent.store.schema import HandoffRow

RECYCLED = "handoff_recycled"
"""The event type recycling records (a signal the playbook must define)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a name for the audit, and for a rep, the key the hand-off must be assigned to."""

    name: str
    role: str
    key_id: str | None = None


class NotYours(NurtureError):
    """A rep acting on a hand-off assigned to someone else."""


class ReasonRequired(NurtureError):
    """Recycling needs a reason: it is what the marketer reads when the lead comes back."""


def act(
    ctx: AgentContext, handoff_id: str, move: Move, *, actor: Actor, reason: str | None = None
) -> HandoffRow:
    """Applies `move` and returns the hand-off after it. Raises LookupError (unknown id),
    NotYours, ReasonRequired, or TransitionRefused (its state does not allow the move)."""
    row = get_handoff(ctx.db, handoff_id)
    if row is None:
        raise LookupError(f"no hand-off with id '{handoff_id}'")
    if actor.role == "rep" and row.assigned_key_id != actor.key_id:
        raise NotYours(f"hand-off '{handoff_id}' is assigned to {row.assigned_to or 'no rep'}")
    reason = (reason or "").strip() or None
    if move == "recycle":
        if reason is None:
            raise ReasonRequired("recycling a hand-off needs a reason")
        if RECYCLED not in ctx.playbook.signals:
            raise NurtureError(
                f"the playbook in force has no '{RECYCLED}' signal: a recycled lead would stay "
                "with sales; add it (see config/playbook.yaml)"
            )
    now = ctx.clock()
    changed = change_state(ctx.db, handoff_id, TARGET[move], by=actor.name, reason=reason, at=now)
    if move == "recycle":
        _back_to_nurture(ctx, changed, actor, reason or "")
    if move in ("recycle", "close"):
        # the account's other contacts were held from nurture while sales had it
        release_account_holds(ctx.db, changed.lead_id, now)
    return changed


def _back_to_nurture(ctx: AgentContext, row: HandoffRow, actor: Actor, reason: str) -> None:
    report = ingest_events(
        ctx.db,
        [
            {
                "id": f"{row.id}-recycled",
                "lead_id": row.lead_id,
                "type": RECYCLED,
                "occurred_at": ctx.clock().isoformat(),
                "properties": {"handoff_id": row.id, "by": actor.name, "reason": reason},
            }
        ],
        ctx.playbook,
        now=ctx.clock(),
    )
    if report.rejected:
        raise NurtureError(f"the recycle event was refused: {report.rejected[0].reason}")
