"""One case's result: what the agent decided and drafted, and every check's verdict on it.

A case whose expected action sends nothing (suppress, wait, hand-off, …) is judged on its decision
alone; the draft checks do not apply to it and are recorded as skipped, so a per-check pass rate
is always over the drafts that check could judge. A case that should have had a draft but got
none (no content, a failed drafter, a crash) fails every draft check instead of skipping them:
a missing email is the worst email."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from agent.drafting.models import CitedAsset
from agent.edit_distance import edit_distance, email_text
from agent.playbook import Playbook
from agent.store.approvals import get_approval
from agent.timeline import classify
from agent.tools.content import persona_of
from evals.checks import ALL_CHECKS, Activity, CheckInput, CitedContent
from evals.judge import CRITERIA, CaseSummary, DraftText, Judge, JudgeFailed
from evals.multiturn import Turn, redraft_changed
from evals.suites import Case, Suite
from evals.world import CaseRun

EMAILING = ("send_email", "re_engage")
DECISION_CHECKS = ("action_and_stage", "content_kind")
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    name: str
    passed: bool | None
    """None: the check does not apply (no draft was due)."""
    detail: str
    score: float | None = None


@dataclass(slots=True)
class CaseRecord:
    """One line of a run's cases.jsonl."""

    case_id: str
    description: str
    lead_id: str
    expected: dict[str, Any]
    stage: str | None
    action: str | None
    rule: str | None
    reason: str | None
    outcome: str
    outcome_detail: str | None
    drafter: str | None
    prompt_version: str | None
    subject: str | None
    body: str | None
    cited_asset_ids: list[str]
    guardrail_violations: list[dict[str, Any]]
    checks: list[CheckOutcome]
    tokens: dict[str, int]
    draft_calls: int
    latency_ms: float
    error: str | None = None
    edit_distance: float | None = None
    """0 (identical) to 1, from the draft to the case's reference text, when it has one."""
    judge: dict[str, Any] | None = None
    """The LLM judge's scores and reasons, when the run asked for a judge."""
    lead_facts: list[str] = field(default_factory=list)
    """What the drafter was told about the lead (a pairwise judge needs it later)."""
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = self.error is None and all(c.passed is not False for c in self.checks)

    def add_check(self, outcome: CheckOutcome) -> None:
        """A verdict known only after the whole run (a run-level check)."""
        self.checks.append(outcome)
        self.__post_init__()

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.passed is False]

    def skipped(self) -> list[str]:
        return [c.name for c in self.checks if c.passed is None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseRecord:
        data = dict(data)
        data.pop("passed", None)  # derived, and recomputed so it cannot disagree with checks
        data["checks"] = [CheckOutcome(**c) for c in data["checks"]]
        return cls(**data)


def record_case(
    case: Case,
    suite: Suite,
    run: CaseRun,
    playbook: Playbook,
    customers: frozenset[str],
    judge: Judge | None = None,
) -> CaseRecord:
    decision = run.state.get("decision") or {}
    reason = (decision.get("reasons") or [{}])[0]
    row = None
    if run.result is not None and run.result.approval_id:
        row = get_approval(run.db, run.result.approval_id)
    outcome = run.result.outcome if run.result else "error"
    detail = run.error or (run.result.detail if run.result else None)
    inp = _check_input(case, suite, run, playbook, customers, row)
    return CaseRecord(
        case_id=case.id,
        description=case.description,
        lead_id=case.lead.id,
        expected={
            "stage": case.expect.stage,
            "action": case.expect.action,
            "rule": case.expect.rule,
        },
        stage=decision.get("stage"),
        action=decision.get("action"),
        rule=reason.get("rule"),
        reason=reason.get("text"),
        outcome=outcome,
        outcome_detail=detail,
        drafter=row.drafter if row else None,
        prompt_version=row.prompt_version if row else None,
        subject=row.subject if row else None,
        body=row.body if row else None,
        cited_asset_ids=list(row.cited_asset_ids) if row else [],
        guardrail_violations=list(row.violations) if row else [],
        checks=[
            *_judge(case, inp, drafted=row is not None, outcome=f"{outcome}: {detail}"),
            _second_turn(case, run, row),
        ],
        tokens=_tokens(run),
        draft_calls=len(run.calls),
        latency_ms=round(run.latency_ms, 2),
        error=run.error,
        edit_distance=_edit_distance(case, row),
        judge=_judged(judge, inp, row),
        lead_facts=list(inp.lead_facts) if inp else [],
    )


def _edit_distance(case: Case, row: Any) -> float | None:
    if case.reference is None or row is None:
        return None
    draft = email_text(row.subject, row.body)
    approved = email_text(case.reference.subject, case.reference.body)
    return round(edit_distance(draft, approved).chars, 4)


def _judged(judge: Judge | None, inp: CheckInput | None, row: Any) -> dict[str, Any] | None:
    """The judge's rubric scores for a draft; a judge failure is recorded, not raised: one
    bad answer must not cost the whole run."""
    if judge is None or inp is None or row is None:
        return None
    case = CaseSummary(
        stage=inp.stage,
        action=inp.action,
        lead_facts=tuple(inp.lead_facts),
        content=tuple(asset.text for asset in inp.assets),
    )
    try:
        scored = judge.score(case, DraftText(subject=row.subject, body=row.body))
    except JudgeFailed as exc:
        return {"model": judge.model, "error": str(exc)}
    return {
        "model": scored.model,
        "prompt_version": scored.prompt_version,
        "scores": scored.as_dict(),
        "reasons": {name: getattr(scored.scores, name).reason for name in CRITERIA},
        "mean": scored.mean,
        "cached": scored.call.cached,
        "tokens": scored.call.total_tokens,
    }


def _check_input(
    case: Case,
    suite: Suite,
    run: CaseRun,
    playbook: Playbook,
    customers: frozenset[str],
    row: Any,
) -> CheckInput | None:
    decision = run.state.get("decision")
    if decision is None:
        return None
    content = decision.get("content") or {}
    # What the drafter was given for the draft now waiting: the last call made.
    request = run.calls[-1].request if run.calls and row is not None else None
    return CheckInput(
        subject=row.subject if row else "",
        body=row.body if row else "",
        cited_asset_ids=tuple(row.cited_asset_ids) if row else (),
        expect=case.expect,
        stage=decision["stage"],
        action=decision["action"],
        content_kinds=tuple(content.get("kinds") or ()),
        lead_facts=tuple(request.lead_facts) if request else (),
        assets=tuple(_cited_content(a) for a in request.assets) if request else (),
        customers=customers,
        guardrails=playbook.guardrails,
        content=playbook.content,
        thresholds=suite.thresholds,
        lead_facts_used=tuple(row.lead_facts_used) if row is not None else (),
        activities=_activities(case, suite, playbook),
        lead_industry=_text(case.lead.attributes.get("industry")),
        lead_persona=persona_of(_text(case.lead.attributes.get("title"))),
        lead_supplied=lead_supplied(case),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _activities(case: Case, suite: Suite, playbook: Playbook) -> tuple[Activity, ...]:
    """What the lead did (their own activity, not our emails), with the topic each carried."""
    found = []
    for event in case.to_events(suite.now):
        signal = classify(event.type, event.properties, playbook)
        if signal is None or not playbook.signals[signal].lead_activity:
            continue
        topic = event.properties.get(playbook.content.topic_property)
        found.append(Activity(signal, topic if isinstance(topic, str) else None))
    return tuple(found)


def lead_supplied(case: Case) -> tuple[str, ...]:
    """Every string the lead or their CRM supplied: the lead's fields and attributes, and the
    string properties of their events."""
    lead = case.lead
    values: list[Any] = [lead.name, lead.company, *lead.attributes.values()]
    values += [v for e in case.events for v in e.properties.values()]
    return tuple(v for v in values if isinstance(v, str) and v.strip())


def _cited_content(asset: CitedAsset) -> CitedContent:
    text = "\n".join([asset.title, asset.summary, *asset.facts, asset.passage])
    return CitedContent(
        asset_id=asset.asset_id,
        kind=asset.kind,  # type: ignore[arg-type]
        text=text,
        title=asset.title,
        topics=tuple(asset.topics),
        industries=tuple(asset.industries),
        personas=tuple(asset.personas),
    )


def _judge(
    case: Case, inp: CheckInput | None, *, drafted: bool, outcome: str
) -> list[CheckOutcome]:
    if inp is None:  # the run itself failed: nothing was decided, every check fails
        return [
            CheckOutcome(name, False, f"the case did not run ({outcome})") for name in ALL_CHECKS
        ]
    expects_email = case.expect.action in EMAILING
    results = []
    for name, check in ALL_CHECKS.items():
        if drafted or name in DECISION_CHECKS:
            r = check(inp)
            results.append(CheckOutcome(r.name, r.passed, r.detail, r.score))
        elif expects_email:
            results.append(CheckOutcome(name, False, f"no draft to judge ({outcome})"))
        else:
            results.append(CheckOutcome(name, None, f"no email due ({case.expect.action})"))
    return results


def _second_turn(case: Case, run: CaseRun, row: Any) -> CheckOutcome:
    """The multi-turn check: skipped without a feedback step, failed without a redraft."""
    if case.feedback is None:
        return CheckOutcome("redraft_changed", None, "no feedback step")
    if run.first_turn is None or row is None:
        return CheckOutcome("redraft_changed", False, "no draft and redraft to compare")
    redraft = Turn(row.subject, row.body, tuple(row.notes or ()))
    r = redraft_changed(case.feedback, run.first_turn, redraft)
    return CheckOutcome(r.name, r.passed, r.detail, r.score)


def _tokens(run: CaseRun) -> dict[str, int]:
    total = dict.fromkeys(USAGE_KEYS, 0)
    for call in run.calls:
        usage = call.result.usage if call.result else {}
        for key in USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int):
                total[key] += value
    return total
