"""Playbook preview: every lead decided as of now with the playbook in force and with a
candidate, side by side, before the candidate goes live. What would move (stage → stage,
action → action, hot → not hot, with counts and example leads per cell), which waiting drafts
the change would make stale (agent/staleness.py's rule), and which rules would fire more or
less often.

Streams over the store a chunk of leads at a time: memory holds one chunk's timelines plus the
tallies (counts, a few examples per cell, the stale drafts), never every lead. The per-lead
engine (`decide`) is the judge for every lead; nothing is guessed in SQL. One shortcut, exact:
when only the hot threshold changes, a lead whose score lies on the same side of both
thresholds is decided once (its second decision could only repeat the first)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import select

from agent.content.assets import Asset
from agent.decisions import Decision, decide
from agent.playbook import Playbook
from agent.playbook.models import STAGES, Action
from agent.staleness import stale_reason
from agent.store.database import Database
from agent.store.schema import ApprovalRow, LeadRow
from agent.tools.timeline import load_signal_timelines

CHUNK = 500
"""Leads per read: two queries (leads, events) and one for their waiting drafts."""
EXAMPLES = 3
"""Example leads kept per transition cell."""
STALE_SHOWN = 200
"""Stale drafts listed (all are counted)."""
HEAT = ("hot", "not hot")
ORDER: dict[str, tuple[str, ...]] = {"stage": STAGES, "action": get_args(Action), "hot": HEAT}
"""The order each table's rows and columns are shown in."""


@dataclass(slots=True)
class Cell:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, lead_id: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(lead_id)


Transitions = dict[tuple[str, str], Cell]
"""(before, after) → how many leads, and a few of them. Unchanged leads are cells too
(before == after), so each table sums to the leads previewed."""


RuleKind = Literal["action", "stage"]


@dataclass(frozen=True, slots=True)
class RuleShift:
    rule: str
    kind: RuleKind
    """"action" (the rule that chose the action) or "stage" (the rule that set the stage)."""
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class StaleDraft:
    approval_id: str
    lead_id: str
    reason: str


@dataclass(slots=True)
class Preview:
    current_version: str
    candidate_version: str
    at: datetime
    leads: int = 0
    changed: int = 0
    """Leads whose stage, action or hot flag would change."""
    stage: Transitions = field(default_factory=dict)
    action: Transitions = field(default_factory=dict)
    hot: Transitions = field(default_factory=dict)
    action_rules: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(rule, "before"|"after") → how many leads it decides the action of."""
    stage_rules: Counter[tuple[str, str]] = field(default_factory=Counter)
    waiting_drafts: int = 0
    stale_count: int = 0
    stale: list[StaleDraft] = field(default_factory=list)
    """Drafts waiting now that the candidate would make stale (fit under the current)."""

    def table(self, name: str) -> Transitions:
        """The "stage", "action" or "hot" transitions."""
        tables: dict[str, Transitions] = {
            "stage": self.stage,
            "action": self.action,
            "hot": self.hot,
        }
        return tables[name]

    def labels(self, name: str) -> list[str]:
        """The values a table's rows and columns show: those some lead has on either side, in
        the playbook's order."""
        present = {value for cell in self.table(name) for value in cell}
        return [value for value in ORDER[name] if value in present]

    def rule_shifts(self) -> list[RuleShift]:
        """Rules that would fire for more or fewer leads, the biggest change first."""
        tallies: tuple[tuple[RuleKind, Counter[tuple[str, str]]], ...] = (
            ("action", self.action_rules),
            ("stage", self.stage_rules),
        )
        shifts = [
            RuleShift(rule, kind, tally[(rule, "before")], tally[(rule, "after")])
            for kind, tally in tallies
            for rule in sorted({rule for rule, _ in tally})
            if tally[(rule, "before")] != tally[(rule, "after")]
        ]
        return sorted(shifts, key=lambda s: (-abs(s.after - s.before), s.kind, s.rule))

    def tally(
        self,
        before: Decision,
        after: Decision,
        draft: ApprovalRow | None,
        assets: Mapping[str, Asset],
    ) -> None:
        """Counts one lead, decided `before` (in force) and `after` (the candidate)."""
        lead_id = before.lead_id
        self.leads += 1
        self.stage.setdefault((before.stage, after.stage), Cell()).add(lead_id)
        self.action.setdefault((before.action, after.action), Cell()).add(lead_id)
        self.hot.setdefault((_heat(before), _heat(after)), Cell()).add(lead_id)
        if (before.stage, before.action, before.score.hot) != (
            after.stage,
            after.action,
            after.score.hot,
        ):
            self.changed += 1
        self.action_rules[(before.reasons[0].rule, "before")] += 1
        self.action_rules[(after.reasons[0].rule, "after")] += 1
        self.stage_rules[(before.reasons[1].rule, "before")] += 1
        self.stage_rules[(after.reasons[1].rule, "after")] += 1
        if draft is None:
            return
        self.waiting_drafts += 1
        reason = stale_reason(draft, after, assets)
        if reason is not None and stale_reason(draft, before, assets) is None:
            self.stale_count += 1
            if len(self.stale) < STALE_SHOWN:
                self.stale.append(StaleDraft(draft.id, lead_id, reason))


def preview(
    db: Database,
    current: Playbook,
    candidate: Playbook,
    assets: Mapping[str, Asset],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """Every lead in the store decided as of `now` with `current` and with `candidate`.
    `progress` hears how many leads are done after each chunk (a job records it)."""
    result = Preview(current.version, candidate.version, now)
    done = 0
    reuse = same_event_reading(current, candidate)
    threshold_only = only_the_threshold_differs(current, candidate)
    # one read per chunk gives each playbook its timeline, parsed once; a candidate that reads
    # events as the playbook in force does shares its timeline
    playbooks = [current] if reuse else [current, candidate]
    for chunk in lead_id_chunks(db):
        timelines = load_signal_timelines(db, chunk, until=now, playbooks=playbooks)
        drafts = waiting_drafts(db, chunk)
        for lead_id in chunk:
            found = timelines.get(lead_id)
            if found is None:
                continue  # deleted meanwhile
            lead, read = found
            # explain=False: the tallies read no per-event contribution (the same decision)
            before = decide(lead, read[0], current, now, explain=False)
            if threshold_only and same_side(before, candidate.scoring.hot_threshold):
                after = before  # decide reads the threshold only through `hot`: same answer
            else:
                after = decide(lead, read[-1], candidate, now, explain=False)
            result.tally(before, after, drafts.get(lead_id), assets)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return result


def only_the_threshold_differs(a: Playbook, b: Playbook) -> bool:
    """Whether the playbooks differ in nothing that decides but the hot threshold (the version
    and description decide nothing). Then a lead on the same side of both thresholds gets the
    same decision from both: `decide` reads the threshold only through the score's hot flag."""
    left = a.model_dump(exclude={"version", "description"})
    right = b.model_dump(exclude={"version", "description"})
    left["scoring"].pop("hot_threshold")
    right["scoring"].pop("hot_threshold")
    return bool(left == right)


def same_side(decision: Decision, threshold: float) -> bool:
    """Whether the lead would be as hot (or not) at `threshold` as it is now. The decision's
    total is rounded to 0.01, so within 0.01 of the threshold it cannot tell: then no."""
    total = decision.score.total
    if abs(total - threshold) <= 0.01:
        return False
    return (total >= threshold) == decision.score.hot


def same_event_reading(a: Playbook, b: Playbook) -> bool:
    """Whether both playbooks map events to the same signals and points, so the signal and
    points the store derived with one are right for the other too."""
    fields = {"signals", "event_mappings"}
    return a.model_dump(include=fields) == b.model_dump(include=fields)


def lead_id_chunks(db: Database, size: int = CHUNK) -> Iterator[list[str]]:
    """Every lead id, in id order, `size` at a time (keyset: each read starts after the last
    id seen, so it costs the same at the end as at the start)."""
    after: str | None = None
    while True:
        query = select(LeadRow.id).order_by(LeadRow.id).limit(size)
        if after is not None:
            query = query.where(LeadRow.id > after)
        with db.session() as session:
            chunk = list(session.scalars(query))
        if not chunk:
            return
        yield chunk
        after = chunk[-1]


def waiting_drafts(db: Database, lead_ids: Sequence[str]) -> dict[str, ApprovalRow]:
    """The draft waiting for each of these leads (at most one per lead, by a unique index)."""
    query = select(ApprovalRow).where(
        ApprovalRow.status == "pending", ApprovalRow.lead_id.in_(list(lead_ids))
    )
    with db.session() as session:
        return {row.lead_id: row for row in session.scalars(query)}


def _heat(decision: Decision) -> str:
    return "hot" if decision.score.hot else "not hot"
