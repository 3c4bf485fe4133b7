"""Lead scoring: attribute (fit) × behaviour, each behaviour point decaying with its half-life."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from agent.conditions import attribute_conditions_hold
from agent.playbook.models import Playbook
from agent.timeline import Lead, SignalEvent, Timeline, signal_points

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class FitScore:
    points: float
    rules: list[tuple[str, float]]
    """The fit rules that scored, with their points (before the cap)."""


@dataclass(frozen=True, slots=True)
class Contribution:
    event_id: str
    signal: str
    points: float
    decay: float
    value: float


@dataclass(frozen=True, slots=True)
class Score:
    fit: FitScore
    contributions: list[Contribution] | None
    """Each scored event's share of the behaviour; None when no explanation was asked for."""
    behaviour: float
    threshold: float

    @property
    def total(self) -> float:
        return self.fit.points + self.behaviour

    @property
    def hot(self) -> bool:
        return self.total >= self.threshold


def fit_score(lead: Lead, playbook: Playbook) -> FitScore:
    facts = lead.facts()
    matched: list[tuple[str, float]] = []
    for group in playbook.scoring.fit.groups:
        for rule in group.rules:
            if attribute_conditions_hold(rule.where, facts):
                matched.append((rule.id, rule.points))
                break
    return FitScore(min(sum(p for _, p in matched), playbook.scoring.fit.cap), matched)


def decay_factor(age_days: float, half_life_days: float) -> float:
    """The share of an event's points left after `age_days`: halves every half-life."""
    share: float = 0.5 ** (max(age_days, 0.0) / half_life_days)  # a positive base: never complex
    return share


def behaviour_contributions(
    timeline: Timeline, playbook: Playbook, now: datetime
) -> list[Contribution]:
    """Each scored event's points, decay and value: the explanation of the behaviour score."""
    return [
        Contribution(e.event_id, e.signal, points, decay, points * decay)
        for e, points, decay in _weighted(timeline, playbook, now)
    ]


def behaviour_total(timeline: Timeline, playbook: Playbook, now: datetime) -> float:
    """The behaviour score alone: the same sum, in the same order, as the contributions give,
    without an object per event (bulk paths decide thousands of leads and explain none)."""
    return sum(points * decay for _, points, decay in _weighted(timeline, playbook, now))


def _weighted(
    timeline: Timeline, playbook: Playbook, now: datetime
) -> Iterator[tuple[SignalEvent, float, float]]:
    """(event, points, decay) for every event that scores, in time order."""
    half_lives: dict[str, float] = {}
    for e in timeline.events:
        points = (
            e.points if e.points is not None else signal_points(e.signal, e.properties, playbook)
        )
        if points <= 0:
            continue
        half_life = half_lives.get(e.signal)
        if half_life is None:
            half_life = half_lives[e.signal] = playbook.half_life(e.signal)
        age_days = (now - e.occurred_at).total_seconds() / SECONDS_PER_DAY
        yield e, points, decay_factor(age_days, half_life)


def score_lead(
    lead: Lead, timeline: Timeline, playbook: Playbook, now: datetime, *, explain: bool = True
) -> Score:
    """With `explain`, the per-event contributions too (what `next` shows); without, only the
    sums a decision needs."""
    if explain:
        contributions: list[Contribution] | None = behaviour_contributions(timeline, playbook, now)
        behaviour = sum(c.value for c in contributions or ())
    else:
        contributions = None
        behaviour = behaviour_total(timeline, playbook, now)
    return Score(
        fit=fit_score(lead, playbook),
        contributions=contributions,
        behaviour=behaviour,
        threshold=playbook.scoring.hot_threshold,
    )
