"""Which leads `nurture run` runs the agent for (a draft, or a hand-off to sales): the candidates
the recorded decisions point at (plus the leads never decided), each decided again, in id order,
until `limit` are due. Deciding every lead first made a run with --limit 10 cost as much as one
over every lead."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from agent.account_handoff import AccountContext, apply_account
from agent.accounts import account_of
from agent.decisions import Decision, decide
from agent.errors import NurtureError
from agent.playbook import Playbook
from agent.staleness import SENDING_ACTIONS
from agent.store.account_context import load_account_context
from agent.store.database import Database
from agent.store.decisions import draft_candidates, record_decisions
from agent.timeline import Lead
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
    from it.

    Candidates are decided a batch at a time (as many as are still wanted): each batch's
    decisions are recorded first, so the best contact of an account is the best by score, then
    each lead of an account that accounts.handoff may apply to is decided again with its account
    (one query per account and batch): its account may hand it to sales, or hold its nurture
    while sales has the account. An account's best contact that was no candidate (its recorded
    wait holds) is added."""
    candidates = [
        lead_id
        for lead_id in draft_candidates(
            db, actions=tuple(actions), now=now, playbook_version=playbook.version
        )
        if lead_id not in skip
    ]
    seen = set(skip)
    due: list[str] = []
    while candidates and (limit is None or len(due) < limit):
        wanted = len(candidates) if limit is None else limit - len(due)
        batch, candidates = candidates[:wanted], candidates[wanted:]
        seen.update(batch)
        for lead_id in _due_in(db, playbook, batch, now, actions, seen):
            due.append(lead_id)
    return sorted(due)[:limit]


def _due_in(
    db: Database,
    playbook: Playbook,
    lead_ids: list[str],
    now: datetime,
    actions: Collection[str],
    seen: set[str],
) -> list[str]:
    """The due among `lead_ids` (and the best contacts of accounts they make due), every
    decision recorded as the account made it; `seen` gains the best contacts added."""
    decided = [d for lead_id in lead_ids if (d := _decide(db, playbook, lead_id, now))]
    scores = {lead.id: decision.score.total for lead, decision in decided}
    due: list[str] = []
    final: list[tuple[Decision, str]] = []
    extra: list[str] = []
    contexts: dict[str, AccountContext | None] = {}  # one read per account and batch
    for lead, decision in decided:
        account = account_of(lead)
        if playbook.accounts.handoff is not None and account is not None:
            if account not in contexts:
                # the batch's fresh scores, not the recorded ones: the best is the best now
                contexts[account] = load_account_context(db, lead, playbook, now, scores=scores)
            context = contexts[account]
            decision = apply_account(decision, context)
            best = context.best if context is not None and context.due else None
            if best is not None and best.lead_id not in seen:
                seen.add(best.lead_id)
                extra.append(best.lead_id)
        final.append((decision, playbook.version))
        if decision.action in actions:
            due.append(lead.id)
    record_decisions(db, final)
    if extra:
        due.extend(_due_in(db, playbook, extra, now, actions, seen))
    return due


def _decide(
    db: Database, playbook: Playbook, lead_id: str, now: datetime
) -> tuple[Lead, Decision] | None:
    try:
        lead, timeline = load_signals(db, lead_id, until=now, playbook=playbook)
    except NurtureError:
        return None
    return lead, decide(lead, timeline, playbook, now, explain=False)
