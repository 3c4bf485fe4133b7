"""Which leads `nurture run` runs the agent for (a draft, or a hand-off to sales): the candidates
the recorded decisions point at (plus the leads never decided), each decided again, in id order,
until `limit` are due. Deciding every lead first made a run with --limit 10 cost as much as one
over every lead."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from agent.decisions import Decision, decide
from agent.errors import NurtureError
from agent.playbook import Playbook
from agent.staleness import SENDING_ACTIONS
from agent.store.database import Database
from agent.store.decisions import draft_candidates, record_decisions
from agent.tools.timeline import load_signals

RUN_ACTIONS = (*SENDING_ACTIONS, "handoff_to_sales")
"""What a batch run acts on: the emails to draft, and the leads to hand to sales (left alone,
a lead that became hot between runs would wait for someone to draft for it by hand)."""


def due_leads(
    db: Database,
    playbook: Playbook,
    *,
    now: datetime,
    limit: int | None = None,
    skip: Collection[str] = (),
    actions: Collection[str] = SENDING_ACTIONS,
) -> list[str]:
    """Leads, in id order, whose decision now is one of `actions`, at most `limit`, leaving out
    `skip` (those with a draft waiting). Records each fresh decision, so the next run starts
    from it."""
    candidates = draft_candidates(
        db, actions=tuple(actions), now=now, playbook_version=playbook.version
    )
    due: list[str] = []
    fresh: list[tuple[Decision, str]] = []
    for lead_id in candidates:
        if limit is not None and len(due) >= limit:
            break
        if lead_id in skip:
            continue
        try:
            lead, timeline = load_signals(db, lead_id, until=now, playbook=playbook)
        except NurtureError:
            continue  # deleted since the candidates were read
        decision = decide(lead, timeline, playbook, now, explain=False)
        fresh.append((decision, playbook.version))
        if decision.action in actions:
            due.append(lead_id)
    record_decisions(db, fresh)
    return due
