"""The demo's decision history: each demo lead decided again at the moments its timeline moved
(every event) and weekly in between (decay, ended waits, dormancy), oldest first, so the
history shows the changes a service running all along would have recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from agent.decisions import Decision, decide
from agent.playbook import Playbook
from agent.store.database import Database
from agent.store.decisions import record_decisions
from agent.timeline import Event
from agent.tools.timeline import load_timelines

REPLAY_DAYS = 180
"""How far back the replay starts (the lead page charts the same six months)."""
STEP = timedelta(days=7)
CHUNK = 200


def replay_history(db: Database, playbook: Playbook, lead_ids: Sequence[str], now: datetime) -> int:
    """Records the replayed decisions (ending with the one as of `now`); returns how many
    decisions were made."""
    made = 0
    for start in range(0, len(lead_ids), CHUNK):
        chunk = lead_ids[start : start + CHUNK]
        timelines = load_timelines(db, chunk, until=now, playbook=playbook)
        decisions: list[tuple[Decision, str]] = []
        for lead, events in timelines.values():
            for at in replay_moments(events, now):
                seen = [e for e in events if e.occurred_at <= at]
                decisions.append((decide(lead, seen, playbook, at), playbook.version))
        record_decisions(db, decisions)
        made += len(decisions)
    return made


def replay_moments(events: Sequence[Event], now: datetime) -> list[datetime]:
    """Each event's time and every week within the replay window, then `now`, oldest first."""
    since = now - timedelta(days=REPLAY_DAYS)
    moments = {e.occurred_at for e in events if since <= e.occurred_at <= now}
    at = since
    while at < now:
        moments.add(at)
        at += STEP
    moments.add(now)
    return sorted(moments)
