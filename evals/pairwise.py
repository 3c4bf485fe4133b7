"""Two saved runs, draft against draft: for every case both runs drafted, the LLM judge picks
the better email in both orders (a tie when the orders disagree). For comparing prompts and
models where the checks say "both fine" but a reader would still prefer one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from agent.content.assets import Asset
from evals.judge import CaseSummary, DraftText, Judge, JudgeFailed
from evals.records import CaseRecord
from evals.runner import EvalRun


@dataclass(frozen=True, slots=True)
class CaseVerdict:
    case_id: str
    winner: str
    """a, b, tie, or error."""
    reasons: tuple[str, ...]
    cached: bool


@dataclass(slots=True)
class PairwiseOutcome:
    verdicts: list[CaseVerdict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Cases only one run drafted (or neither)."""

    def counts(self) -> Counter[str]:
        return Counter(v.winner for v in self.verdicts)


def compare_runs(a: EvalRun, b: EvalRun, judge: Judge, assets: dict[str, Asset]) -> PairwiseOutcome:
    outcome = PairwiseOutcome()
    theirs = {r.case_id: r for r in b.records}
    for mine in a.records:
        other = theirs.get(mine.case_id)
        if other is None or not (mine.subject and mine.body and other.subject and other.body):
            outcome.skipped.append(mine.case_id)
            continue
        try:
            result = judge.compare(_situation(mine, other, assets), _text(mine), _text(other))
        except JudgeFailed as exc:
            outcome.verdicts.append(CaseVerdict(mine.case_id, "error", (str(exc),), False))
            continue
        outcome.verdicts.append(
            CaseVerdict(
                mine.case_id,
                result.winner,
                tuple(v.raw.reason for v in result.verdicts),
                all(v.call.cached for v in result.verdicts),
            )
        )
    return outcome


def _situation(a: CaseRecord, b: CaseRecord, assets: dict[str, Asset]) -> CaseSummary:
    """What both drafts were written for: the same lead, and the content either one cited."""
    cited = dict.fromkeys([*a.cited_asset_ids, *b.cited_asset_ids])
    content = tuple(
        f"{assets[i].meta.title}: {assets[i].meta.summary}" for i in cited if i in assets
    )
    return CaseSummary(
        stage=a.stage or a.expected["stage"],
        action=a.action or a.expected["action"],
        lead_facts=tuple(a.lead_facts or b.lead_facts),
        content=content,
    )


def _text(record: CaseRecord) -> DraftText:
    return DraftText(subject=record.subject or "", body=record.body or "")
