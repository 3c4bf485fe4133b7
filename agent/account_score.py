"""An account's score, stage and engaged contacts, from its contacts' scores and stages as the
store holds them; the playbook's `accounts` section says how they add up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.playbook.models import STAGES, AccountPolicy, Stage


@dataclass(frozen=True, slots=True)
class ContactStanding:
    score: float | None
    """None: never scored or decided."""
    stage: Stage | None
    last_event_at: datetime | None
    engaged_at: datetime | None = None
    """The latest of the playbook's engaging signals (accounts.engaged_signals)."""


@dataclass(frozen=True, slots=True)
class AccountStanding:
    score: float
    stage: Stage | None
    """The furthest stage any contact has reached; None while none was decided."""
    engaged_contacts: int
    handoff: str | None = None
    """Why the account should go to sales (the playbook's accounts.handoff), if it should."""


def account_standing(
    contacts: Sequence[ContactStanding], policy: AccountPolicy, now: datetime
) -> AccountStanding:
    scores = [c.score for c in contacts if c.score is not None]
    if policy.score == "sum":
        score = sum(scores)
    else:
        score = max(scores, default=0.0)
    stages = [c.stage for c in contacts if c.stage is not None]
    return AccountStanding(
        score=round(score, 2),
        stage=max(stages, key=STAGES.index) if stages else None,
        engaged_contacts=_engaged(contacts, policy.engaged_within_days, now),
        handoff=_handoff(contacts, policy, now),
    )


def _engaged(contacts: Sequence[ContactStanding], days: float, now: datetime) -> int:
    since = now - timedelta(days=days)
    return sum(1 for c in contacts if c.engaged_at is not None and since <= c.engaged_at <= now)


def _handoff(
    contacts: Sequence[ContactStanding], policy: AccountPolicy, now: datetime
) -> str | None:
    rule = policy.handoff
    if rule is None:
        return None
    engaged = _engaged(contacts, rule.within_days, now)
    if engaged < rule.engaged_contacts:
        return None
    return f"{engaged} contacts engaged within {rule.within_days:g} days (accounts.handoff)"
