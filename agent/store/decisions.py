"""Each lead's latest decision: written whenever the service or the agent decides, read to list
leads by stage, action and heat."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, func, or_, select

from agent.decisions import Decision
from agent.store.database import Database
from agent.store.decision_history import write_changes
from agent.store.schema import EventRow, LeadDecisionRow, LeadRow
from agent.store.upsert import upsert


def record_decision(db: Database, decision: Decision, *, playbook_version: str) -> None:
    record_decisions(db, [(decision, playbook_version)])


def record_decisions(db: Database, decisions: Iterable[tuple[Decision, str]]) -> None:
    """Upserts many in one transaction (each with the playbook version that made it), and
    records in the same transaction each change of a lead's stage, action or hot flag."""
    batch = list(decisions)
    if not batch:
        return
    with db.session() as session:
        # written off the request path, so an older decision may arrive after a newer one
        latest = write_changes(session, batch)
        upsert(session, LeadDecisionRow, _rows(latest), unless_newer="decided_at")


def _rows(decisions: list[tuple[Decision, str]]) -> list[dict[str, object]]:
    return [
        {
            "lead_id": decision.lead_id,
            "stage": decision.stage,
            "action": decision.action,
            "wait_until": decision.wait_until,
            "total": decision.score.total,
            "hot": decision.score.hot,
            "playbook_version": version,
            "decided_at": decision.at,
        }
        for decision, version in decisions
    ]


@dataclass(frozen=True, slots=True)
class LeadFilter:
    q: str | None = None
    """Part of the lead's name, email or company, in any letter case."""
    stage: str | None = None
    action: str | None = None
    hot: bool | None = None
    owner: str | None = None
    """The CRM owner, exactly (as imported)."""
    after: str | None = None
    """Keyset pagination: only leads whose id sorts after this one."""
    limit: int = 100


def list_leads(db: Database, where: LeadFilter) -> list[tuple[LeadRow, LeadDecisionRow | None]]:
    """Leads in id order with their latest decision; a filter on the decision leaves out leads
    never decided."""
    query = _filtered(where)
    if where.after is not None:
        query = query.where(LeadRow.id > where.after)
    query = query.order_by(LeadRow.id).limit(where.limit)
    with db.session() as session:
        return [(lead, decision) for lead, decision in session.execute(query)]


def leads_by_score(
    db: Database, where: LeadFilter, *, offset: int = 0
) -> tuple[list[tuple[LeadRow, LeadDecisionRow | None]], int]:
    """One page of the matching leads, highest recorded score first (leads never decided
    last, then by id), and how many match in all. `where.after` is not used: pages go by
    offset, since a score is no key."""
    query = _filtered(where).order_by(LeadDecisionRow.total.desc().nulls_last(), LeadRow.id)
    counted = select(func.count()).select_from(_filtered(where).subquery())
    with db.session() as session:
        rows = session.execute(query.offset(offset).limit(where.limit)).all()
        return [(lead, decision) for lead, decision in rows], session.scalar(counted) or 0


def _filtered(where: LeadFilter) -> Select[LeadRow, LeadDecisionRow]:
    query = select(LeadRow, LeadDecisionRow).outerjoin(
        LeadDecisionRow, LeadDecisionRow.lead_id == LeadRow.id
    )
    if where.q:
        text = where.q.strip().lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(text, autoescape=True)
                    for column in (LeadRow.name, LeadRow.email, LeadRow.company)
                )
            )
        )
    if where.owner is not None:
        query = query.where(LeadRow.owner == where.owner)
    if where.stage is not None:
        query = query.where(LeadDecisionRow.stage == where.stage)
    if where.action is not None:
        query = query.where(LeadDecisionRow.action == where.action)
    if where.hot is not None:
        query = query.where(LeadDecisionRow.hot.is_(where.hot))
    return query


def stale_decisions(db: Database, *, now: datetime, max_age: timedelta, limit: int) -> list[str]:
    """Leads whose recorded decision time alone has changed: a wait that has ended, or a
    decision old enough for decay to have moved the score. Oldest first."""
    query = (
        select(LeadDecisionRow.lead_id)
        .where(or_(LeadDecisionRow.wait_until <= now, LeadDecisionRow.decided_at < now - max_age))
        .order_by(LeadDecisionRow.decided_at)
        .limit(limit)
    )
    with db.session() as session:
        return list(session.scalars(query))


def latest_decision(db: Database, lead_id: str) -> LeadDecisionRow | None:
    with db.session() as session:
        return session.get(LeadDecisionRow, lead_id)


def draft_candidates(
    db: Database, *, actions: Iterable[str], now: datetime, playbook_version: str
) -> list[str]:
    """Leads in id order that may be due a draft, without deciding any: those whose recorded
    decision is one of `actions`, or may no longer hold (its wait has ended, another playbook
    made it, or an event arrived after it), and those never decided. The caller decides each
    again before drafting: a candidate is not a verdict."""
    decided_before_an_event = exists().where(
        EventRow.lead_id == LeadDecisionRow.lead_id,
        EventRow.received_at > LeadDecisionRow.decided_at,
    )
    query = (
        select(LeadRow.id)
        .outerjoin(LeadDecisionRow, LeadDecisionRow.lead_id == LeadRow.id)
        .where(
            or_(
                LeadDecisionRow.lead_id.is_(None),
                LeadDecisionRow.action.in_(list(actions)),
                LeadDecisionRow.wait_until <= now,
                LeadDecisionRow.playbook_version != playbook_version,
                decided_before_an_event,
            )
        )
        .order_by(LeadRow.id)
    )
    with db.session() as session:
        return list(session.scalars(query))
