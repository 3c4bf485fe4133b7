"""The next best action: a pure function of (lead, events, playbook, now) → Decision, with reasons.

Nothing here touches a database or the clock, so every answer can be replayed "as of" any moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from agent.conditions import holds
from agent.patterns import Match, match_pattern
from agent.playbook.models import Action, ActionRule, ContentKind, Playbook, Reset, Stage
from agent.scoring import SECONDS_PER_DAY, Score, score_lead
from agent.stages import StageResult, stage_of, stage_rank
from agent.timeline import Event, Lead, SignalEvent, Timeline

MAX_QUOTE = 1_000  # characters of a quoted property (a reply) kept in a reason


class ContributionOut(BaseModel):
    event_id: str
    type: str = Field(description="The signal the event counts as.")
    points: float
    decay: float = Field(description="Share of the points left after time decay (0..1].")
    value: float


class ScoreOut(BaseModel):
    attribute: float
    behaviour: float
    total: float
    hot: bool
    contributions: list[ContributionOut] | None = Field(
        description="Each scored event's share of the behaviour score; null when the decision "
        "was made without its explanation (`?explain=false`)."
    )


class ContentOut(BaseModel):
    kinds: list[ContentKind]
    topic: str | None
    exclude_assets: list[str] = Field(description="Assets already sent to or consumed by the lead.")


class Reason(BaseModel):
    rule: str
    text: str


class AccountContactOut(BaseModel):
    lead_id: str
    name: str | None
    role: str = Field(description="decision_maker, influencer, user or unknown (from the title).")
    score: float


class AccountOut(BaseModel):
    """The lead's account when it changed the decision (agent/account_handoff.py)."""

    id: str
    open_handoff: str | None = Field(
        description="The hand-off that has the account with sales, if one is open."
    )
    engaged_contacts: list[AccountContactOut] = Field(
        description="The account's contacts engaged within accounts.handoff's days, best first."
    )
    owner: str | None = Field(description="The CRM owner the engaged contacts share, if one.")


class Decision(BaseModel):
    lead_id: str
    at: datetime
    stage: Stage
    action: Action
    wait_until: datetime | None
    score: ScoreOut
    content: ContentOut | None
    reasons: list[Reason]
    account: AccountOut | None = None


@dataclass(frozen=True, slots=True)
class _Applied:
    rule: ActionRule
    match: Match | None
    detail: str


def decide(
    lead: Lead,
    events: Iterable[Event] | Timeline,
    playbook: Playbook,
    now: datetime,
    *,
    explain: bool = True,
) -> Decision:
    """`events` raw (any order, duplicates, future ones: the timeline sorts them out) or a
    Timeline already read as of `now` (agent/tools/timeline.py's load_signals). With `explain`
    (what a person reads), the score lists every event's contribution; the bulk paths pass
    False: the same decision, without an object per event."""
    timeline = events if isinstance(events, Timeline) else Timeline(events, playbook, now)
    score = score_lead(lead, timeline, playbook, now, explain=explain)
    stage = stage_of(timeline, playbook, now)
    applied = _first_applicable(lead, timeline, score, playbook, now)
    action = applied.rule.action
    return Decision(
        lead_id=lead.id,
        at=now,
        stage=stage.stage,
        action=action,
        wait_until=applied.match.until if action == "wait" and applied.match else None,
        score=_score_out(score),
        content=_content(applied, timeline, stage.stage, playbook),
        reasons=[
            Reason(rule=applied.rule.id, text=_join(applied.rule.explain, applied.detail)),
            _stage_reason(stage),
            Reason(rule="scoring", text=_score_text(score)),
            *(Reason(rule=rule_id, text=f"fit +{points:g}") for rule_id, points in score.fit.rules),
        ],
    )


def _first_applicable(
    lead: Lead, timeline: Timeline, score: Score, playbook: Playbook, now: datetime
) -> _Applied:
    for rule in playbook.action_rules:
        when = rule.when
        since = None
        if rule.reset is not None:
            since = _last_reset(rule.reset, timeline)
            if since is not None and not _renewed(rule.reset, timeline, since):
                continue  # reset and nothing new since: the rule waits for new evidence
        if when.event is not None:
            found = match_pattern(when.event, timeline, now, since=since)
            if found is not None:
                evidence = _join(_evidence_text(found.evidence), _quoted(rule, found))
                return _Applied(rule, found, evidence)
        elif when.lead is not None:
            value = lead.facts().get(when.lead.attribute)
            if holds(when.lead, value):
                return _Applied(rule, None, f"{when.lead.attribute} = {value}")
        elif when.hot:
            if score.hot:
                return _Applied(rule, None, _score_text(score))
        elif when.inactive is not None:
            detail = _dormancy(
                timeline, playbook, now, when.inactive.days, when.inactive.reached_stage
            )
            if detail is not None:
                return _Applied(rule, None, detail)
        elif when.always:
            return _Applied(rule, None, "")
    # unreachable for a validated playbook: its last rule is `always`
    raise AssertionError("the playbook's action rules did not end with an 'always' rule")


def _last_reset(reset: Reset, timeline: Timeline) -> datetime | None:
    events = timeline.of(reset.by)
    return events[-1].occurred_at if events else None


def _renewed(reset: Reset, timeline: Timeline, since: datetime) -> bool:
    return any(e.occurred_at > since for e in timeline.of(reset.renewed_by))


def _dormancy(
    timeline: Timeline, playbook: Playbook, now: datetime, days: float, reached: Stage
) -> str | None:
    activity = [e for e in timeline.events if playbook.signals[e.signal].lead_activity]
    if not activity:
        return None
    last = activity[-1]
    idle_days = (now - last.occurred_at).total_seconds() / SECONDS_PER_DAY
    if idle_days < days:
        return None
    peak = stage_of(timeline, playbook, now, ever=True)
    if stage_rank(peak.stage) < stage_rank(reached):
        return None
    return (
        f"last activity {last.signal} on {last.occurred_at:%Y-%m-%d} ({idle_days:.0f} days "
        f"ago); had reached {peak.stage}"
    )


def _content(
    applied: _Applied, timeline: Timeline, stage: Stage, playbook: Playbook
) -> ContentOut | None:
    action = applied.rule.action
    if action not in ("send_email", "re_engage"):
        return None
    strategy = playbook.content
    request = applied.rule.content
    kinds = request.kinds if request and request.kinds else None
    if kinds is None:
        kinds = strategy.re_engage_kinds if action == "re_engage" else strategy.stage_kinds[stage]
    topic = None
    if request and request.topic_from and applied.match:
        topic = _text(applied.match.evidence[-1].properties.get(request.topic_from))
    if topic is None:
        topic = _latest_topic(timeline.events, strategy.topic_property)
    consumed = {
        text
        for e in timeline.events
        for name in strategy.consumed_properties
        if (text := _text(e.properties.get(name))) is not None
    }
    return ContentOut(kinds=list(kinds), topic=topic, exclude_assets=sorted(consumed))


def _latest_topic(events: list[SignalEvent], prop: str) -> str | None:
    for e in reversed(events):
        topic = _text(e.properties.get(prop))
        if topic:
            return topic
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _score_out(score: Score) -> ScoreOut:
    return ScoreOut(
        attribute=round(score.fit.points, 2),
        behaviour=round(score.behaviour, 2),
        total=round(score.total, 2),
        hot=score.hot,
        contributions=None if score.contributions is None else _contributions_out(score),
    )


def _contributions_out(score: Score) -> list[ContributionOut]:
    assert score.contributions is not None  # the caller checked: only explained scores
    return [
        # plain dicts: pydantic-core builds the models far faster than Python-side calls
        {  # type: ignore[misc]  # pydantic validates each into a ContributionOut
            "event_id": c.event_id,
            "type": c.signal,
            "points": c.points,
            "decay": round(c.decay, 4),
            "value": round(c.value, 2),
        }
        for c in score.contributions
    ]


def _stage_reason(stage: StageResult) -> Reason:
    if stage.rule is None or stage.match is None:
        return Reason(rule="stage.default", text="No interest signals in the lookback window.")
    return Reason(
        rule=stage.rule.id, text=_join(stage.rule.explain, _evidence_text(stage.match.evidence))
    )


def _score_text(score: Score) -> str:
    verdict = "hot" if score.hot else "not hot"
    return (
        f"attribute {score.fit.points:g} + behaviour {score.behaviour:.1f} = "
        f"{score.total:.1f} ({verdict}; threshold {score.threshold:g})"
    )


def _evidence_text(evidence: list[SignalEvent]) -> str:
    shown = evidence[-5:]
    parts = [f"{e.signal} {e.occurred_at:%Y-%m-%d %H:%M}" for e in shown]
    more = f" and {len(evidence) - len(shown)} more" if len(evidence) > len(shown) else ""
    return "evidence: " + ", ".join(parts) + more


def _quoted(rule: ActionRule, found: Match) -> str:
    """The rule's `quote` property of the newest matching event, in quotation marks."""
    if rule.quote is None:
        return ""
    value = _text(found.evidence[-1].properties.get(rule.quote))
    if value is None:
        return ""
    one_line = " ".join(value.split())
    if len(one_line) > MAX_QUOTE:
        one_line = one_line[: MAX_QUOTE - 1].rstrip() + "…"
    return f"{rule.quote}: “{one_line}”"


def _join(explain: str, detail: str) -> str:
    return " — ".join(part for part in (explain.strip(), detail) if part)
