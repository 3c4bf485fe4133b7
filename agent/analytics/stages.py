"""Leads by stage at the end of each week, from decision_changes by SQL aggregates: each change
adds its lead to its new stage and takes it from the stage of the lead's change before it (a
window function), summed per week in the database (or, over a span of more weeks than one query
may bind, per moment, streamed into weeks here); the weeks' running totals are the snapshots.
Memory: one counter per week, whatever the table holds."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from agent.analytics.window import iso_week
from agent.store.schema import DecisionChangeRow

BATCH = 1_000
MAX_CASE_WEEKS = 2_000
"""Weeks a CASE may bucket (two bound parameters each: SQLite allows 32,766); changes spanning
more are streamed per moment instead."""


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
    ends = [end for _, end in weeks]
    first = session.scalar(select(func.min(change.at)).where(change.at <= now))
    # weeks before the first change are empty: only the weeks from it on need a bucket
    if first is None:
        deltas: dict[int, Counter[str]] = {}
    elif len(ends) - bisect_left(ends, first) <= MAX_CASE_WEEKS:
        deltas = _summed_per_week(session, ordered, ends, bisect_left(ends, first))
    else:
        deltas = _streamed_per_week(session, ordered, ends)
    running: Counter[str] = Counter()
    snapshots: dict[str, dict[str, int]] = {}
    for n, (name, _) in enumerate(weeks):
        running.update(deltas.get(n, Counter()))
        snapshots[name] = {stage: count for stage, count in sorted(running.items()) if count > 0}
    return snapshots


def _summed_per_week(
    session: Session, ordered: Any, ends: list[datetime], offset: int
) -> dict[int, Counter[str]]:
    """Week index → stage → leads in minus leads out, summed by the database (a CASE maps each
    change to its week: the first ending at or after it)."""
    week: Any = case(
        *((ordered.c.at <= end, n) for n, end in enumerate(ends) if n >= offset),
        else_=len(ends) - 1,
    )
    # one pass over the window (each change: the stage it enters and the one it leaves)
    query = select(week, ordered.c.stage, ordered.c.before, func.count()).group_by(
        week, ordered.c.stage, ordered.c.before
    )
    deltas: dict[int, Counter[str]] = {}
    for n, entered, left, count in session.execute(query):
        _move(deltas.setdefault(n, Counter()), entered, left, count)
    return deltas


def _streamed_per_week(
    session: Session, ordered: Any, ends: list[datetime]
) -> dict[int, Counter[str]]:
    """The same sums when the changes span more weeks than a CASE may bind: summed per moment
    in the database, streamed, and put in their week here."""
    query = select(ordered.c.at, ordered.c.stage, ordered.c.before, func.count()).group_by(
        ordered.c.at, ordered.c.stage, ordered.c.before
    )
    deltas: dict[int, Counter[str]] = {}
    for at, entered, left, count in session.execute(query.execution_options(yield_per=BATCH)):
        week = min(bisect_left(ends, at), len(ends) - 1)
        _move(deltas.setdefault(week, Counter()), entered, left, count)
    return deltas


def _move(delta: Counter[str], entered: str, left: str | None, count: int) -> None:
    delta[entered] += count
    if left is not None:
        delta[left] -= count


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
