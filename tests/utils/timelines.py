"""Builders for leads and timelines, so a test reads like the situation it describes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.decisions import Decision, decide
from agent.playbook import Playbook
from agent.timeline import Event, Lead

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def lead(**attributes: Any) -> Lead:
    """A lead; `do_not_contact` and the identity fields are taken out of `attributes`."""
    dnc = bool(attributes.pop("do_not_contact", False))
    return Lead(
        id=attributes.pop("id", "L1"),
        email=attributes.pop("email", "dana@northwind.example"),
        name=attributes.pop("name", "Dana Reyes"),
        company=attributes.pop("company", "Northwind Freight"),
        attributes=attributes,
        do_not_contact=dnc,
    )


def ev(
    type_: str, days_ago: float, *, id: str | None = None, lead_id: str = "L1", **properties: Any
) -> Event:
    return Event(
        id=id or f"e{next(_ids)}",
        lead_id=lead_id,
        type=type_,
        occurred_at=NOW - timedelta(days=days_ago),
        properties=properties,
    )


def decide_now(
    playbook: Playbook, events: list[Event], who: Lead | None = None, now: datetime = NOW
) -> Decision:
    return decide(who or lead(), events, playbook, now)


def rules_of(decision: Decision) -> list[str]:
    return [r.rule for r in decision.reasons]
