"""Lead scoring: attribute (fit) × behaviour, each behaviour point decaying with its half-life."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.conditions import attribute_conditions_hold
from agent.playbook.models import Playbook
from agent.timeline import Lead, Timeline, signal_points

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
    contributions: list[Contribution]
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
    out = []
    for e in timeline.events:
        points = (
            e.points if e.points is not None else signal_points(e.signal, e.properties, playbook)
        )
        if points <= 0:
            continue
        age_days = (now - e.occurred_at).total_seconds() / SECONDS_PER_DAY
        decay = decay_factor(age_days, playbook.half_life(e.signal))
        out.append(Contribution(e.event_id, e.signal, points, decay, points * decay))
    return out


def score_lead(lead: Lead, timeline: Timeline, playbook: Playbook, now: datetime) -> Score:
    contributions = behaviour_contributions(timeline, playbook, now)
    return Score(
        fit=fit_score(lead, playbook),
        contributions=contributions,
        behaviour=sum(c.value for c in contributions),
        threshold=playbook.scoring.hot_threshold,
    )
