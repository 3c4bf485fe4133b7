"""The life of a hand-off once sales has it: which state may follow which, and the SLA.

new -> delivered (the rep was told: webhook delivered or email sent) -> accepted (by a rep) ->
closed; a rep or a marketer may also recycle it back to nurture (with a reason) from any open
state. A rep may accept from `new` too: the list shows hand-offs before anyone was told."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

HandoffState = Literal["new", "delivered", "accepted", "closed", "recycled"]
STATES: tuple[HandoffState, ...] = ("new", "delivered", "accepted", "closed", "recycled")
WAITING: tuple[HandoffState, ...] = ("new", "delivered")
"""Not yet accepted: the acceptance SLA runs."""

NEXT: dict[str, tuple[HandoffState, ...]] = {
    "new": ("delivered", "accepted", "recycled"),
    "delivered": ("accepted", "recycled"),
    "accepted": ("closed", "recycled"),
    "closed": (),
    "recycled": (),
}

Move = Literal["accept", "recycle", "close"]
TARGET: dict[Move, HandoffState] = {"accept": "accepted", "recycle": "recycled", "close": "closed"}


class TransitionRefused(Exception):  # noqa: N818 - what it is, as HTTP 409 says
    """The hand-off is in a state the move does not apply to."""


def check_transition(current: str, target: str) -> None:
    if target not in NEXT.get(current, ()):
        allowed = ", ".join(NEXT.get(current, ())) or "nothing (it is over)"
        raise TransitionRefused(
            f"a {current} hand-off cannot become {target} (it may become: {allowed})"
        )


def overdue(state: str, created_at: datetime, now: datetime, sla_hours: float) -> bool:
    """Whether a hand-off waits for acceptance longer than the playbook's SLA allows."""
    return state in WAITING and now - created_at > timedelta(hours=sla_hours)
