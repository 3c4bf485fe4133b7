"""Drafts by answer: how many got each answer (SQL GROUP BY), how long each waited for it and, for
the ones a person edited before sending, how much they changed, per stage. The medians need each
value, so the rows are streamed and only one number per draft is kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.analytics.groups import in_funnel_order, stage_of_draft
from agent.analytics.window import percentile, since_filter
from agent.edit_distance import char_distance, email_text
from agent.store.approvals import STATUS_FOR
from agent.store.schema import ApprovalRow

ANSWERED = tuple(STATUS_FOR.values())
BATCH = 1_000
"""Rows fetched at a time when streaming."""

Spread = dict[str, int | float]
"""How many, their median and 75th percentile: {count name: n, median: x, p75: y}."""


@dataclass(frozen=True, slots=True)
class Waits:
    median_hours: float | None
    by_stage: dict[str, Spread]


def by_outcome(session: Session, since: datetime | None) -> dict[str, int]:
    query = since_filter(
        select(ApprovalRow.status, func.count())
        .where(ApprovalRow.status.in_(ANSWERED))
        .group_by(ApprovalRow.status),
        ApprovalRow.decided_at,
        since,
    )
    return {status: count for status, count in session.execute(query)}


def hours_to_decision(session: Session, since: datetime | None) -> Waits:
    """Hours from each answered draft's creation to its answer: overall and per stage."""
    rows = _stream(
        session,
        since_filter(
            select(stage_of_draft(), ApprovalRow.created_at, ApprovalRow.decided_at).where(
                ApprovalRow.status.in_(ANSWERED)
            ),
            ApprovalRow.decided_at,
            since,
        ),
    )
    hours: dict[str, list[float]] = {}
    for stage, created, decided in rows:
        hours.setdefault(stage, []).append((decided - created).total_seconds() / 3600)
    every = [value for values in hours.values() for value in values]
    return Waits(
        median_hours=percentile(every, 0.5) if every else None,
        by_stage=_spreads(hours, "answered"),
    )


def edit_distance_by_stage(session: Session, since: datetime | None) -> dict[str, Spread]:
    """Per stage, the drafts answered 'edited' and the character distance (agent.edit_distance)
    between the draft as written and the text the person approved to send."""
    rows = _stream(
        session,
        since_filter(
            select(
                stage_of_draft(),
                ApprovalRow.subject,
                ApprovalRow.body,
                ApprovalRow.final_subject,
                ApprovalRow.final_body,
            ).where(ApprovalRow.status == STATUS_FOR["edit"]),
            ApprovalRow.decided_at,
            since,
        ),
    )
    distances: dict[str, list[float]] = {}
    for stage, subject, body, final_subject, final_body in rows:
        measured = char_distance(
            email_text(subject, body), email_text(final_subject or "", final_body or "")
        )
        distances.setdefault(stage, []).append(measured)
    return _spreads(distances, "edited")


def _stream(session: Session, query: Any) -> Iterable[Any]:
    return session.execute(query.execution_options(yield_per=BATCH))


def _spreads(values: dict[str, list[float]], count_name: str) -> dict[str, Spread]:
    return in_funnel_order(
        {
            group: {
                count_name: len(group_values),
                "median": percentile(group_values, 0.5),
                "p75": percentile(group_values, 0.75),
            }
            for group, group_values in values.items()
        }
    )
