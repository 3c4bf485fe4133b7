"""Funnel stage: the highest stage the timeline gives evidence for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.patterns import Match, match_pattern
from agent.playbook.models import STAGES, Playbook, Stage, StageRule
from agent.timeline import Timeline


@dataclass(frozen=True, slots=True)
class StageResult:
    stage: Stage
    rule: StageRule | None
    match: Match | None


def stage_of(
    timeline: Timeline, playbook: Playbook, now: datetime, *, ever: bool = False
) -> StageResult:
    """The highest stage with evidence in the lookback window (or over the whole timeline when
    `ever`, which is how "had reached interest" is judged for a dormant lead)."""
    since = None if ever else now - timedelta(days=playbook.stages.lookback_days)
    for stage in reversed(STAGES):
        for rule in playbook.stages.rules:
            if rule.stage != stage:
                continue
            found = match_pattern(rule.when, timeline, now, since=since)
            if found is not None:
                return StageResult(stage, rule, found)
    return StageResult("awareness", None, None)


def stage_rank(stage: Stage) -> int:
    return STAGES.index(stage)
