"""The core and hard suites, run inside the test command with the offline template drafter,
hold their gates against the committed baselines; a template that drops the unsubscribe line
fails the gate.

Each baseline is the summary of a template run of its suite. After a deliberate change to the
template, the playbook or a suite, record new ones:

    nurture eval run core && cp <the run folder it prints>/summary.json \\
        evals/baselines/core-template.json
    nurture eval run hard && cp <the run folder it prints>/summary.json \\
        evals/baselines/hard-template.json
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.drafting.template import PROMPTS, TemplateDrafter
from agent.playbook import Playbook
from evals.compare import compare
from evals.runner import EvalRun, run_suite, save_run
from evals.suites import Suite
from evals.summary import load_summary
from tests.evals.conftest import Cli, clean_settings

BASELINES = Path(__file__).resolve().parents[2] / "evals" / "baselines"
BASELINE = BASELINES / "core-template.json"
HARD_BASELINE = BASELINES / "hard-template.json"
UNSUBSCRIBE_SLOT = "{{ unsubscribe_line }}"


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    return load_summary(BASELINE)


@pytest.fixture(scope="module")
def broken_run(
    tmp_path_factory: pytest.TempPathFactory, eval_collection: Any, core_suite: Suite
) -> EvalRun:
    """The core suite drafted by a copy of the shipped template that lost its unsubscribe line
    (the kind of slip a template edit makes)."""
    folder = tmp_path_factory.mktemp("broken-template")
    for name in ("email_template.yaml", "email_template.j2"):
        shutil.copy(PROMPTS / name, folder / name)
    template = (folder / "email_template.j2").read_text()
    assert UNSUBSCRIBE_SLOT in template, "the shipped template changed: update this test"
    (folder / "email_template.j2").write_text(template.replace(UNSUBSCRIBE_SLOT, ""))
    return run_suite(
        core_suite,
        clean_settings(folder),
        drafter=TemplateDrafter(folder=folder),
        collection=eval_collection,
    )


def test_the_core_suite_passes_its_gate_against_the_baseline(
    core_template_run: EvalRun, baseline: dict[str, Any]
) -> None:
    result = compare(baseline, core_template_run.summary)
    failed = {d.metric: (d.before, d.after) for d in result.failed_gates}
    assert result.passed, f"gated metrics dropped: {failed}; regressions: {result.regressions}"
    assert result.regressions == []
    # every gate of the suite was actually compared, none silently skipped
    gated = {d.metric for d in result.deltas if d.allowed_drop is not None}
    assert gated == set(core_template_run.summary["gates"])


def test_the_hard_suite_passes_its_gate_against_its_baseline(hard_template_run: EvalRun) -> None:
    result = compare(load_summary(HARD_BASELINE), hard_template_run.summary)
    failed = {d.metric: (d.before, d.after) for d in result.failed_gates}
    assert result.passed, f"gated metrics dropped: {failed}; regressions: {result.regressions}"
    assert result.regressions == []
    gated = {d.metric for d in result.deltas if d.allowed_drop is not None}
    assert gated == set(hard_template_run.summary["gates"])


def test_the_template_drafter_passes_every_check_on_95_percent_of_both_suites(
    core_template_run: EvalRun, hard_template_run: EvalRun
) -> None:
    records = [*core_template_run.records, *hard_template_run.records]
    failing = {r.case_id: r.failed() for r in records if not r.passed}
    assert len(records) == 50 + 37
    assert (len(records) - len(failing)) / len(records) >= 0.95, failing
    # the checks of issue #16 judged both runs (none is skipped everywhere)
    for name in ("subject_quality", "hook_evidence", "asset_topic", "peer_match", "facts_used"):
        assert hard_template_run.summary["metrics"][f"checks.{name}"] is not None
    assert hard_template_run.summary["metrics"]["checks.redraft_changed"] == 1.0


def test_the_baseline_is_a_template_run_of_the_whole_core_suite(
    baseline: dict[str, Any], core_suite: Suite, playbook: Playbook
) -> None:
    assert (baseline["suite"], baseline["drafter"], baseline["errors"]) == ("core", "template", 0)
    assert set(baseline["case_results"]) == {c.id for c in core_suite.cases}
    assert baseline["playbook_version"] == playbook.version
    assert baseline["prompt_version"] == TemplateDrafter().version


def test_the_template_run_decides_every_case_right_and_sends_nothing(
    core_template_run: EvalRun, core_suite: Suite
) -> None:
    summary = core_template_run.summary
    assert summary["cases"] == len(core_suite.cases) == 50
    assert summary["errors"] == 0
    assert summary["metrics"]["checks.action_and_stage"] == 1.0
    assert summary["metrics"]["checks.content_kind"] == 1.0
    emailing = sum(1 for c in core_suite.cases if c.expect.action in ("send_email", "re_engage"))
    # every emailing case waits for a human; nothing was sent or failed
    assert summary["outcomes"]["awaiting_approval"] == emailing
    assert not {"sent", "send_failed", "error", "draft_failed"} & set(summary["outcomes"])


def test_each_case_record_says_what_was_decided_drafted_and_checked(
    core_template_run: EvalRun,
) -> None:
    by_id = {r.case_id: r for r in core_template_run.records}
    drafted = by_id["aware-blog-reader-logistics"]
    assert (drafted.stage, drafted.action, drafted.rule) == (
        "awareness",
        "send_email",
        "send.stage_content",
    )
    assert drafted.drafter == "template" and drafted.prompt_version == "template-v4"
    assert drafted.subject and drafted.body and drafted.cited_asset_ids
    assert drafted.body.rstrip().splitlines()[-1].startswith("Not useful? Unsubscribe:")
    assert drafted.tokens["total_tokens"] == 0 and drafted.draft_calls == 1
    assert drafted.latency_ms > 0
    # every check judged it, but the multi-turn one: this case has no feedback step
    verdicts = {c.name: c.passed for c in drafted.checks}
    assert verdicts.pop("redraft_changed") is None
    assert all(v is not None for v in verdicts.values())

    suppressed = next(r for r in core_template_run.records if r.expected["action"] == "suppress")
    assert suppressed.outcome == "suppressed" and suppressed.subject is None
    verdicts = {c.name: c.passed for c in suppressed.checks}
    # only the decision is judged when no email is due
    assert verdicts.pop("action_and_stage") is True and verdicts.pop("content_kind") is True
    assert set(verdicts.values()) == {None}


def test_the_summary_has_versions_cost_latency_and_stage_metrics(
    core_template_run: EvalRun,
) -> None:
    s = core_template_run.summary
    assert (s["prompt_version"], s["model"]) == ("template-v4", None)
    assert s["cost"] == {"usd": 0.0, "basis": "template drafter: no model calls"}
    assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p95"] <= s["latency_ms"]["max"]
    assert set(s["by_stage"]) == {"awareness", "interest", "consideration", "decision"}
    assert sum(stage["cases"] for stage in s["by_stage"].values()) == 50
    passed = sum(1 for r in core_template_run.records if r.passed)
    assert s["passed"] == passed and s["metrics"]["pass_rate"] == round(passed / 50, 4)


def test_a_template_without_the_unsubscribe_line_fails_the_gate(
    broken_run: EvalRun, baseline: dict[str, Any]
) -> None:
    result = compare(baseline, broken_run.summary)
    assert not result.passed
    failed = {d.metric for d in result.failed_gates}
    assert {"checks.unsubscribe", "pass_rate"} <= failed
    assert broken_run.summary["metrics"]["checks.unsubscribe"] == 0.0
    # every drafted case is named as a regression of the unsubscribe check
    drafted = {r.case_id for r in broken_run.records if r.subject is not None}
    regressed = {r.case_id for r in result.regressions if "unsubscribe" in r.checks}
    assert regressed == drafted and len(drafted) == 35
    # the agent's own guardrail saw it too: the drafts wait flagged, after two revisions
    flagged = [r for r in broken_run.records if r.guardrail_violations]
    assert len(flagged) == 35 and all(r.draft_calls == 3 for r in flagged)


def test_compare_exits_1_on_the_broken_run_and_0_on_a_good_one(
    broken_run: EvalRun, core_template_run: EvalRun, tmp_path: Path, nurture_cli: Cli
) -> None:
    good = save_run(core_template_run, tmp_path)
    bad = save_run(broken_run, tmp_path)

    code, out, _ = nurture_cli("eval", "compare", str(BASELINE), str(good))
    assert code == 0, out
    assert "gate passed" in out and "no case regressed" in out

    code, out, _ = nurture_cli("eval", "compare", str(BASELINE), str(bad / "summary.json"))
    assert code == 1
    assert "gate failed:" in out and "checks.unsubscribe" in out
    assert "aware-blog-reader-logistics: now fails unsubscribe" in out
