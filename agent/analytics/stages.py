"""Leads by stage at the end of each week, from decision_changes by SQL aggregates: each change
adds its lead to its new stage and takes it from the stage of the lead's change before it (a
window function), summed per moment in the database and streamed into per-week sums; the weeks'
running totals are the snapshots. Memory: one counter per week, whatever the table holds."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.analytics.window import iso_week
from agent.store.schema import DecisionChangeRow

BATCH = 1_000


def stages_by_week(
    session: Session, since: datetime | None, now: datetime
) -> dict[str, dict[str, int]]:
    """ISO week → stage → leads whose latest change at or before the week's end (now for the
    current week) put them in that stage."""
    change = DecisionChangeRow
    start = since or session.scalar(select(func.min(change.at)).where(change.at <= now))
    if start is None:
        return {}
    weeks = _week_ends(start, now)
    if not weeks:
        return {}
    ordered = (
        select(
            change.at,
            change.to_stage.label("stage"),
            func.lag(change.to_stage)
            .over(partition_by=change.lead_id, order_by=(change.at, change.id))
            .label("before"),
        )
        .where(change.at <= now)
        .subquery()
    )
    # summed per moment in the database, then per week here: a week is a range of moments, and
    # a CASE over every week would grow with the span (--since may be decades back)
    entered = select(ordered.c.at, ordered.c.stage, func.count()).group_by(
        ordered.c.at, ordered.c.stage
    )
    left = (
        select(ordered.c.at, ordered.c.before, func.count())
        .where(ordered.c.before.is_not(None))
        .group_by(ordered.c.at, ordered.c.before)
    )
    ends = [end for _, end in weeks]
    deltas: dict[int, Counter[str]] = {}
    for query, sign in ((entered, 1), (left, -1)):
        for at, stage, count in session.execute(query.execution_options(yield_per=BATCH)):
            # the first week ending at or after the change (earlier changes: the first week)
            week = min(bisect_left(ends, at), len(ends) - 1)
            deltas.setdefault(week, Counter())[stage] += sign * count
    running: Counter[str] = Counter()
    snapshots: dict[str, dict[str, int]] = {}
    for n, (name, _) in enumerate(weeks):
        running.update(deltas.get(n, Counter()))
        snapshots[name] = {stage: count for stage, count in sorted(running.items()) if count > 0}
    return snapshots


def _week_ends(start: datetime, now: datetime) -> list[tuple[str, datetime]]:
    """Each ISO week from the one holding `start` to the one holding `now`, with its end."""
    monday = (start - timedelta(days=start.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    weeks = []
    while monday <= now:
        weeks.append((iso_week(monday), min(monday + timedelta(days=7), now)))
        monday += timedelta(days=7)
    return weeks
