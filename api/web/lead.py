"""The rep's lead page: profile, the next action with its reasons, the score replayed over the
last six months, the recorded decision changes, the timeline (newest first) and past sends."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from agent.accounts import account_of
from agent.charts import Sample, data_uri, score_over_time
from agent.decisions import Decision, decide
from agent.playbook import Playbook
from agent.store.approvals import pending
from agent.store.database import Database
from agent.store.decision_history import lead_history
from agent.store.schema import ApprovalRow, DecisionChangeRow, SendRow
from agent.timeline import Event, Lead, classify
from agent.tools.timeline import load_timeline

HISTORY_DAYS = 180
HISTORY_POINTS = 26  # weekly over the last six months: 25 weeks back, and now
TIMELINE_LIMIT = 200
CHANGES_SHOWN = 100
PROPERTIES_SHOWN = 8
VALUE_CHARS = 300


@dataclass(frozen=True, slots=True)
class TimelineRow:
    event_id: str
    at: datetime
    type: str
    signal: str | None
    properties: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class LeadPage:
    lead: Lead
    account: str | None
    decision: Decision
    chart: str
    """The score over time: a data: URI of pygal's SVG."""
    history: list[Sample]
    changes: list[DecisionChangeRow]
    """Recorded changes of stage, action or heat, newest first."""
    change_count: int
    timeline: list[TimelineRow]
    event_count: int
    sends: list[SendRow]
    drafts: list[ApprovalRow]


def lead_page(db: Database, playbook: Playbook, lead_id: str, now: datetime) -> LeadPage:
    """Raises NurtureError when the lead is unknown."""
    lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
    history = score_history(lead, events, playbook, now)
    changes = lead_history(db, lead_id)
    return LeadPage(
        lead=lead,
        account=account_of(lead),
        decision=decide(lead, events, playbook, now),
        chart=data_uri(
            score_over_time(
                f"Score of {lead.name or lead.id}, weekly, replayed from the timeline",
                history,
                playbook.scoring.hot_threshold,
            )
        ),
        history=history,
        changes=changes[::-1][:CHANGES_SHOWN],
        change_count=len(changes),
        timeline=timeline_rows(events, playbook),
        event_count=len(events),
        sends=sends_of(db, lead_id),
        drafts=pending(db, lead_id=lead_id),
    )


def score_history(
    lead: Lead,
    events: Sequence[Event],
    playbook: Playbook,
    now: datetime,
    *,
    days: int = HISTORY_DAYS,
    points: int = HISTORY_POINTS,
) -> list[Sample]:
    """The decision score as it stood at evenly spaced moments, replayed with `decide` on the
    events that had occurred by then (decide is pure, so this is what the agent saw then,
    given what the store knows now: late-arriving events count from when they occurred)."""
    step = timedelta(days=days) / (points - 1)
    samples = []
    for i in range(points):
        at = now - step * (points - 1 - i)
        decision = decide(lead, [e for e in events if e.occurred_at <= at], playbook, at)
        samples.append(Sample(at, decision.score.total, decision.score.hot, note=decision.stage))
    return samples


def timeline_rows(
    events: Sequence[Event], playbook: Playbook, limit: int = TIMELINE_LIMIT
) -> list[TimelineRow]:
    """Newest first. The lead's own free text is kept as text: the template escapes it."""
    newest = sorted(events, key=lambda e: (e.occurred_at, e.id), reverse=True)[:limit]
    return [
        TimelineRow(
            event_id=e.id,
            at=e.occurred_at,
            type=e.type,
            signal=e.signal or classify(e.type, e.properties, playbook),
            properties=_shown_properties(e.properties),
        )
        for e in newest
    ]


def _shown_properties(properties: Mapping[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for name, value in list(properties.items())[:PROPERTIES_SHOWN]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        shown.append((str(name), text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "…"))
    return shown


def sends_of(db: Database, lead_id: str) -> list[SendRow]:
    with db.session() as session:
        query = (
            select(SendRow).where(SendRow.lead_id == lead_id).order_by(SendRow.attempted_at.desc())
        )
        return list(session.scalars(query))
