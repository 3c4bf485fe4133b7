"""Matches playbook event patterns ("pricing viewed twice within 7 days") against a timeline."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.conditions import property_conditions_hold
from agent.playbook.models import EventFilter, EventPattern
from agent.timeline import SignalEvent, Timeline


@dataclass(frozen=True, slots=True)
class Match:
    evidence: list[SignalEvent]
    """The events that satisfy the pattern (the most recent qualifying set), oldest first."""
    until: datetime | None
    """When the pattern stops holding as its evidence ages out of `in_last_days`, if it does."""


def filtered(timeline: Timeline, flt: EventFilter) -> list[SignalEvent]:
    events = timeline.of(flt.signals)
    if flt.where:
        events = [e for e in events if property_conditions_hold(flt.where, e.properties)]
    return events


def match_pattern(
    pattern: EventPattern, timeline: Timeline, now: datetime, *, since: datetime | None = None
) -> Match | None:
    """The most recent set of events satisfying `pattern`, or None. `since` drops older events
    (the stage lookback)."""
    events = filtered(timeline, pattern)
    horizon = since
    if pattern.in_last_days is not None:
        recent = now - timedelta(days=pattern.in_last_days)
        horizon = recent if horizon is None else max(horizon, recent)
    if horizon is not None:
        events = [e for e in events if e.occurred_at > horizon]
    if not events:
        return None

    best: list[SignalEvent] | None = None
    for group in _groups(events, pattern.same):
        window = _latest_window(group, pattern)
        if window and (best is None or _latest(window) > _latest(best)):
            best = window
    if best is None:
        return None
    if pattern.unless_followed_by is not None:
        last = _latest(best)
        if any(e.occurred_at > last for e in filtered(timeline, pattern.unless_followed_by)):
            return None
    until = None
    if pattern.in_last_days is not None:
        until = best[0].occurred_at + timedelta(days=pattern.in_last_days)
    return Match(evidence=best, until=until)


def _groups(events: list[SignalEvent], same: str | None) -> list[list[SignalEvent]]:
    if same is None:
        return [events]
    groups: dict[str, list[SignalEvent]] = defaultdict(list)
    for e in events:
        value = e.properties.get(same)
        if value is not None:
            groups[str(value)].append(e)
    return list(groups.values())


def _latest_window(events: list[SignalEvent], pattern: EventPattern) -> list[SignalEvent] | None:
    """The qualifying window ending latest, shrunk from the left to the fewest events needed.

    Shrinking makes `until` exact: the pattern stops holding when the oldest needed event ages
    out."""
    span = timedelta(days=pattern.within_days) if pattern.within_days is not None else None
    key = pattern.distinct
    values: Counter[str] = Counter()
    found: tuple[int, int] | None = None
    left = 0
    for right, event in enumerate(events):
        values[_value(event, key)] += 1
        while span is not None and event.occurred_at - events[left].occurred_at > span:
            _drop(values, _value(events[left], key))
            left += 1
        if _size(values, key, right - left + 1) >= pattern.count:
            found = (left, right)
    if found is None:
        return None
    start, end = found
    window = Counter(_value(e, key) for e in events[start : end + 1])
    while True:
        _drop(window, _value(events[start], key))
        if _size(window, key, end - start) < pattern.count:
            return events[start : end + 1]
        start += 1


def _value(event: SignalEvent, key: str | None) -> str:
    if key is None:
        return "*"  # plain counting: one bucket
    value = event.properties.get(key)
    return "" if value is None else str(value)


def _size(values: Counter[str], key: str | None, count: int) -> int:
    if key is None:
        return count
    return sum(1 for v, n in values.items() if n > 0 and v != "")


def _drop(values: Counter[str], value: str) -> None:
    values[value] -= 1
    if values[value] <= 0:
        del values[value]


def _latest(events: list[SignalEvent]) -> datetime:
    return events[-1].occurred_at
