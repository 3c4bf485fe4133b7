"""Comparing runs and the arithmetic of a summary, on small hand-made summaries."""

from __future__ import annotations

from typing import Any

import pytest

from evals.compare import compare
from evals.summary import cost, percentile


def summary(metrics: dict[str, float | None], cases: dict[str, list[str]], **extra: Any):
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


def test_a_gated_metric_that_vanished_fails_its_gate() -> None:
    gone = summary({"pass_rate": 0.9, "checks.grounding": None}, {"a": [], "b": [], "c": []})
    assert [d.metric for d in compare(BASE, gone).failed_gates] == ["checks.grounding"]


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
