"""The agent's state: what goes in (a lead) and what the nodes add on the way to a human."""

from __future__ import annotations

from typing import Any, TypedDict


class InputState(TypedDict):
    lead_id: str
    """The lead to nurture."""


class AgentState(InputState, total=False):
    at: str
    """ISO time the decision was taken (the graph decides as of this moment)."""
    decision: dict[str, Any]
    """The decision engine's answer (agent.decisions.Decision as JSON)."""
    picks: list[dict[str, Any]]
    """Retrieved content (agent.tools.content.Pick as JSON), best first."""
    draft: dict[str, Any]
    """The current draft (EmailDraft as JSON) with `drafter` and `prompt_version`."""
    violations: list[dict[str, str]]
    """Guardrail failures of the current draft ({rule, message})."""
    revisions: int
    """Automatic revision rounds used on the current draft (at most 2)."""
    feedback: str | None
    """A marketer's change request, for the next draft."""
    review_note: str | None
    """Why the last answer to the waiting draft could not be used (shown when asked again)."""
    review_round: int
    """How many times a human has been asked in this thread."""
    approval_id: str
    """The approval the last human answer was for; the send is keyed to it."""
    outcome: str
    """Where the run ended: suppressed, with_sales, waiting, handed_off, no_content,
    draft_failed, awaiting_approval, discarded, sent, blocked, needs_check, send_failed."""
    detail: str
