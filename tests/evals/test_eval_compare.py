"""Comparing runs and the arithmetic of a summary, on small hand-made summaries."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agent.errors import NurtureError
from evals.compare import compare
from evals.summary import cost, load_summary, percentile
from tests.evals.conftest import Cli

BASELINE = Path(__file__).resolve().parents[2] / "evals" / "baselines" / "core-template.json"


def summary(metrics: Mapping[str, float | None], cases: dict[str, list[str]], **extra: Any):
    return {
        "suite": "core",
        "drafter": "template",
        "prompt_version": "template-v2",
        "playbook_version": "p1",
        "gates": {"pass_rate": 0.02, "checks.grounding": 0.0},
        "metrics": metrics,
        "case_results": {
            case_id: {"passed": not failed, "failed": failed} for case_id, failed in cases.items()
        },
        **extra,
    }


BASE = summary(
    {"pass_rate": 0.84, "checks.grounding": 1.0, "checks.readability": 0.9},
    {"a": [], "b": ["readability"], "c": []},
)


def test_a_drop_within_the_gate_passes_and_one_beyond_fails() -> None:
    within = summary({**BASE["metrics"], "pass_rate": 0.82}, {"a": [], "b": [], "c": []})
    assert compare(BASE, within).passed  # exactly the allowed 0.02
    beyond = summary({**BASE["metrics"], "pass_rate": 0.8}, {"a": [], "b": [], "c": []})
    result = compare(BASE, beyond)
    assert [d.metric for d in result.failed_gates] == ["pass_rate"]
    assert result.failed_gates[0].delta == pytest.approx(-0.04)


def test_a_zero_gate_allows_no_drop_and_ungated_metrics_never_fail() -> None:
    worse = summary(
        {"pass_rate": 0.84, "checks.grounding": 0.98, "checks.readability": 0.1},
        {"a": [], "b": ["readability"], "c": []},
    )
    result = compare(BASE, worse)
    assert [d.metric for d in result.failed_gates] == ["checks.grounding"]


# --- whose gates apply ---------------------------------------------------------------------------


def test_a_candidate_cannot_loosen_its_own_gate() -> None:
    lax = summary(
        {"pass_rate": 0.4, "checks.grounding": 1.0, "checks.readability": 0.9},
        {"a": [], "b": [], "c": []},
        gates={"pass_rate": 1.0},
    )
    result = compare(BASE, lax)
    assert [d.metric for d in result.failed_gates] == ["pass_rate"]
    assert result.failed_gates[0].allowed_drop == 0.02  # the baseline's, the stricter


def test_a_gate_the_candidate_dropped_still_applies() -> None:
    ungated = summary(
        {"pass_rate": 0.84, "checks.grounding": 0.5, "checks.readability": 0.9},
        {"a": [], "b": [], "c": []},
        gates={"pass_rate": 0.02},
    )
    result = compare(BASE, ungated)
    assert [(d.metric, d.allowed_drop) for d in result.failed_gates] == [("checks.grounding", 0.0)]
    assert (
        "gates differ (baseline → candidate): checks.grounding 0 → none; the stricter applies"
        in result.notes
    )


def test_where_both_runs_gate_a_metric_the_stricter_gate_wins() -> None:
    metrics = {"pass_rate": 0.81, "checks.grounding": 1.0, "checks.readability": 0.9}
    cases: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    stricter_candidate = summary(metrics, cases, gates={"pass_rate": 0.0, "checks.grounding": 0.0})
    lax_base = {**BASE, "gates": {"pass_rate": 0.05, "checks.grounding": 0.0}}
    # 0.03 is within the baseline's 0.05, but not within the candidate's 0
    assert [d.metric for d in compare(lax_base, stricter_candidate).failed_gates] == ["pass_rate"]
    assert compare(lax_base, summary(metrics, cases, gates=lax_base["gates"])).passed


def test_a_gate_only_the_candidate_sets_applies_too() -> None:
    after = summary(
        {"pass_rate": 0.84, "checks.grounding": 1.0, "checks.readability": 0.5},
        {"a": [], "b": [], "c": []},
        gates={**BASE["gates"], "checks.readability": 0.05},
    )
    assert [d.metric for d in compare(BASE, after).failed_gates] == ["checks.readability"]


# --- what cannot be compared ---------------------------------------------------------------------


def test_a_gated_metric_that_vanished_from_the_candidate_is_refused() -> None:
    gone = summary({"pass_rate": 0.9, "checks.grounding": None}, {"a": [], "b": [], "c": []})
    with pytest.raises(NurtureError, match=r"checks\.grounding \(no value in the candidate\)"):
        compare(BASE, gone)


@pytest.mark.parametrize(
    "baseline_metrics",
    [{}, {"pass_rate": 0.84, "checks.grounding": None}],
    ids=["no-metrics", "grounding-null"],
)
def test_a_gated_metric_the_baseline_lacks_is_refused(baseline_metrics: dict[str, Any]) -> None:
    before = summary(baseline_metrics, {"a": [], "b": [], "c": []})
    after = summary({"pass_rate": 0.0, "checks.grounding": 0.0}, {"a": [], "b": [], "c": []})
    with pytest.raises(NurtureError, match=r"checks\.grounding \(no value in the baseline\)"):
        compare(before, after)


def test_runs_of_different_suites_are_refused() -> None:
    with pytest.raises(NurtureError, match="different suites.*'core'.*'core-small'"):
        compare(BASE, {**BASE, "suite": "core-small"})


def test_cases_missing_from_the_candidate_fail_the_comparison() -> None:
    # dropping the failing case b would raise the pass rate: that is not an improvement
    fewer = summary({**BASE["metrics"], "pass_rate": 1.0}, {"a": [], "c": []})
    result = compare(BASE, fewer)
    assert not result.passed
    assert result.failed_gates == []
    assert result.missing_cases == ["b"]


def test_regressions_are_checks_that_newly_fail_in_a_case() -> None:
    after = summary(
        BASE["metrics"],
        {"a": ["unsubscribe", "grounding"], "b": ["readability"], "c": [], "d": ["grounding"]},
    )
    result = compare(BASE, after)
    # b failed readability before too; d is new, so it cannot have regressed
    assert [(r.case_id, r.checks) for r in result.regressions] == [
        ("a", ["unsubscribe", "grounding"])
    ]
    assert "cases only in the candidate: d" in result.notes


def test_differences_in_what_ran_are_noted() -> None:
    after = {**BASE, "drafter": "llm:m", "prompt_version": "draft-email-v1"}
    notes = compare(BASE, after).notes
    assert "drafter: template → llm:m" in notes
    assert "prompt_version: template-v2 → draft-email-v1" in notes


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 0.5) == 30.0
    assert percentile(values, 0.95) == 48.0
    assert percentile([], 0.5) is None


def test_cost_is_zero_for_the_template_priced_for_a_known_model_else_unknown() -> None:
    tokens = {"prompt_tokens": 2_000_000, "completion_tokens": 500_000, "total_tokens": 2_500_000}
    assert cost("template", tokens, {})["usd"] == 0.0
    assert cost("llm:m", tokens, {"m": (0.15, 0.6)})["usd"] == pytest.approx(0.6)
    unknown = cost("llm:other", tokens, {"m": (0.15, 0.6)})
    assert unknown["usd"] is None and unknown["basis"].startswith("unknown")


# --- reading summaries ---------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def baseline() -> dict[str, Any]:
    return json.loads(BASELINE.read_text(encoding="utf-8"))


def set_at(data: dict[str, Any], where: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    return data


FIRST_CASE = next(iter(json.loads(BASELINE.read_text(encoding="utf-8"))["case_results"]))
MALFORMED = [
    (("metrics", "pass_rate"), "0.9", "metrics.pass_rate"),
    (("metrics",), [1, 2], "metrics"),
    (("metrics", "pass_rate"), 1.5, "metrics.pass_rate"),
    (("gates", "pass_rate"), "x", "gates.pass_rate"),
    (("gates", "pass_rate"), -0.1, "gates.pass_rate"),
    (("case_results", FIRST_CASE, "failed"), None, f"case_results.{FIRST_CASE}.failed"),
    (("case_results",), None, "case_results"),
    (("suite",), 7, "suite"),
    (("by_stage", "awareness", "pass_rate"), "high", "by_stage.awareness.pass_rate"),
    (("cost", "usd"), "free", "cost.usd"),
]


@pytest.mark.parametrize(("where", "value", "field"), MALFORMED, ids=[m[2] for m in MALFORMED])
def test_a_malformed_summary_is_refused_by_file_and_field(
    tmp_path: Path, where: tuple[str, ...], value: Any, field: str
) -> None:
    path = write(tmp_path, "summary.json", set_at(baseline(), where, value))
    with pytest.raises(NurtureError) as refused:
        load_summary(path)
    message = str(refused.value)
    assert str(path) in message and f"{field}:" in message


def test_a_saved_summary_with_extra_fields_loads_unchanged(tmp_path: Path) -> None:
    data = {**baseline(), "something_new": {"x": 1}}
    assert load_summary(write(tmp_path, "summary.json", data)) == data


# --- the command's exit codes: 0 pass, 1 gate failure, 2 bad input -------------------------------


def run_compare(nurture_cli: Cli, tmp_path: Path, candidate: Any, base: Any = None):
    before = BASELINE if base is None else write(tmp_path, "baseline.json", base)
    return nurture_cli("eval", "compare", str(before), str(write(tmp_path, "cand.json", candidate)))


def test_compare_exits_0_for_an_identical_run(tmp_path: Path, nurture_cli: Cli) -> None:
    code, out, err = run_compare(nurture_cli, tmp_path, baseline())
    assert code == 0, out + err
    assert "gate passed" in out


def test_compare_exits_1_when_the_candidate_loosened_its_gate(
    tmp_path: Path, nurture_cli: Cli
) -> None:
    lax = baseline()
    lax["gates"] = {"pass_rate": 1.0}
    lax["metrics"] = {**lax["metrics"], "pass_rate": 0.4, "checks.grounding": 0.5}
    code, out, _ = run_compare(nurture_cli, tmp_path, lax)
    assert code == 1
    assert "gate failed: pass_rate, checks.grounding" in out


def test_compare_exits_1_when_baseline_cases_are_missing(tmp_path: Path, nurture_cli: Cli) -> None:
    fewer = baseline()
    # two cases dropped from the candidate (the baseline's failing ones, when it has any)
    cases = fewer["case_results"]
    failing = (sorted(c for c, r in cases.items() if r["failed"]) or sorted(cases))[:2]
    assert len(failing) == 2
    for case_id in failing:
        del fewer["case_results"][case_id]
    fewer["metrics"] = {**fewer["metrics"], "pass_rate": 1.0}
    code, out, _ = run_compare(nurture_cli, tmp_path, fewer)
    assert code == 1
    assert f"2 cases missing from the candidate: {', '.join(failing)}" in out
    assert "gate failed:" in out


def test_compare_notes_cases_only_in_the_candidate(tmp_path: Path, nurture_cli: Cli) -> None:
    more = baseline()
    more["case_results"]["brand-new"] = {"stage": "awareness", "passed": True, "failed": []}
    code, out, _ = run_compare(nurture_cli, tmp_path, more)
    assert code == 0
    assert "cases only in the candidate: brand-new" in out


@pytest.mark.parametrize(
    ("base", "candidate", "message"),
    [
        ({"metrics": {}}, {}, "no value in the baseline"),
        (
            {("metrics", "checks.grounding"): None},
            {},
            "checks.grounding (no value in the baseline)",
        ),
        ({}, {("suite",): "other"}, "different suites"),
        ({}, {("metrics", "pass_rate"): "0.9"}, "metrics.pass_rate"),
        ({}, {("metrics",): [1, 2]}, "metrics: Input should be a valid dictionary"),
        ({}, {("gates", "pass_rate"): "x"}, "gates.pass_rate"),
        ({}, {("case_results", FIRST_CASE, "failed"): None}, f"{FIRST_CASE}.failed: Input"),
    ],
    ids=["baseline-no-metrics", "baseline-null", "suite", "str-rate", "list", "gate", "failed"],
)
def test_compare_exits_2_when_the_runs_cannot_be_compared(
    tmp_path: Path,
    nurture_cli: Cli,
    base: dict[Any, Any],
    candidate: dict[Any, Any],
    message: str,
) -> None:
    def edited(changes: dict[Any, Any]) -> dict[str, Any]:
        data = baseline()
        for where, value in changes.items():
            data = set_at(data, where if isinstance(where, tuple) else (where,), value)
        return data

    after = edited(candidate)
    if base.get("metrics") == {}:  # the candidate scored zero everywhere
        after["metrics"] = {name: 0.0 for name in after["metrics"]}
    code, out, err = run_compare(nurture_cli, tmp_path, after, edited(base))
    assert code == 2, out + err
    assert "error:" in err and message in err
    assert "Traceback" not in out + err
