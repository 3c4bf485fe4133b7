"""The domain objects the decision engine reads: leads, raw events, and the lead's timeline
(raw events mapped onto the playbook's signals, deduplicated and in time order)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.conditions import property_conditions_hold
from agent.contact import says_do_not_contact
from agent.playbook.models import Playbook
from agent.web_urls import with_url_parts


@dataclass(frozen=True, slots=True)
class Lead:
    id: str
    email: str
    name: str | None = None
    company: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    do_not_contact: bool = False
    """Whatever was passed, true when an attribute says do-not-contact (agent.contact)."""
    owner: str | None = None
    """The lead's owner in the CRM, when one was imported."""

    def __post_init__(self) -> None:
        # every Lead (stored, imported, replayed) decides on the same answer as the store shows
        effective = says_do_not_contact(self.do_not_contact, self.attributes)
        object.__setattr__(self, "do_not_contact", effective)

    def facts(self) -> dict[str, Any]:
        """Everything a fit rule or lead condition may test, by name."""
        return {
            **self.attributes,
            "email": self.email,
            "name": self.name,
            "company": self.company,
            "do_not_contact": self.do_not_contact,
            "owner": self.owner,
        }


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    lead_id: str
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)
    signal: str | None = None
    """Set only when this playbook derived it already (the store's cached classification)."""
    points: float | None = None


@dataclass(frozen=True, slots=True)
class SignalEvent:
    """A raw event as the playbook reads it."""

    event_id: str
    signal: str
    occurred_at: datetime
    properties: Mapping[str, Any]
    points: float | None = None


def classify(event_type: str, properties: Mapping[str, Any], playbook: Playbook) -> str | None:
    """The canonical signal for a raw event, or None when the playbook does not know it."""
    properties = with_url_parts(properties)
    for mapping in playbook.event_mappings:
        if mapping.event == event_type and property_conditions_hold(mapping.where, properties):
            return mapping.signal
    return event_type if event_type in playbook.signals else None


def signal_points(signal: str, properties: Mapping[str, Any], playbook: Playbook) -> float:
    spec = playbook.signals[signal]
    properties = with_url_parts(properties)
    for boost in spec.boosts:
        if property_conditions_hold(boost.where, properties):
            return boost.points
    return spec.points


class Timeline:
    """A lead's signals up to `now`, each event id once, ordered by (time, id)."""

    def __init__(self, events: Iterable[Event], playbook: Playbook, now: datetime) -> None:
        unique: dict[str, Event] = {}
        for event in events:
            if event.occurred_at > now:
                continue
            kept = unique.get(event.id)
            # same id twice: keep one deterministically, whatever order they arrived in
            if kept is None or _tiebreak(event) < _tiebreak(kept):
                unique[event.id] = event
        signals = []
        for event in unique.values():
            signal = event.signal or classify(event.type, event.properties, playbook)
            if signal is not None:
                # rules read the page's path and campaign, whether the event sent a path or a URL
                properties = with_url_parts(event.properties)
                signals.append(
                    SignalEvent(event.id, signal, event.occurred_at, properties, event.points)
                )
        signals.sort(key=lambda s: (s.occurred_at, s.event_id))
        self._index(signals)

    @classmethod
    def of_signals(cls, signals: list[SignalEvent]) -> Timeline:
        """A timeline of signals already unique by id, up to `now` and in (time, id) order, as
        the store reads them (agent/tools/timeline.py): nothing to drop, classify or sort."""
        timeline = cls.__new__(cls)
        timeline._index(signals)
        return timeline

    def _index(self, signals: list[SignalEvent]) -> None:
        self.events: list[SignalEvent] = signals
        self.by_signal: dict[str, list[SignalEvent]] = defaultdict(list)
        for s in signals:
            self.by_signal[s.signal].append(s)

    def of(self, signals: Iterable[str]) -> list[SignalEvent]:
        """Events of these signals, in time order."""
        names = list(signals)
        if len(names) == 1:
            return self.by_signal.get(names[0], [])
        picked = [e for name in names for e in self.by_signal.get(name, [])]
        picked.sort(key=lambda s: (s.occurred_at, s.event_id))
        return picked


def _tiebreak(event: Event) -> tuple[datetime, str, str]:
    return event.occurred_at, event.type, json.dumps(event.properties, sort_keys=True, default=str)
