"""Comparing two runs: per-metric deltas, the cases that regressed, and the suite's gates.

A gate is 'metric → the largest drop allowed' (suite header `gates`, carried in each summary).
Every gate found in either summary applies, and where both set one the stricter (the smaller
allowed drop) wins: a change cannot loosen its own gate by shipping a laxer suite header, nor
dodge one by dropping it.

What cannot be compared is refused (NurtureError, exit 2) rather than passed or failed: runs of
different suites, and a gated metric without a value in either run (it cannot be shown not to
have dropped). Cases of the baseline that the candidate no longer has fail the comparison:
deleting failing cases would otherwise raise the pass rate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.errors import NurtureError

# Rates are rounded to 4 places; one case out of 50 is 0.02, so this only absorbs float noise.
TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class MetricDelta:
    metric: str
    before: float | None
    after: float | None
    allowed_drop: float | None
    """The gate, when the metric is gated."""

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    @property
    def gate_failed(self) -> bool:
        if self.allowed_drop is None:
            return False
        if self.before is None or self.after is None:
            return True  # `compare` refuses this; a hand-built delta still never passes
        return self.before - self.after > self.allowed_drop + TOLERANCE


@dataclass(frozen=True, slots=True)
class Regression:
    case_id: str
    checks: list[str]
    """Checks that passed (or did not apply) in the baseline and fail now."""


@dataclass(frozen=True)
class Comparison:
    before: dict[str, Any]
    after: dict[str, Any]
    deltas: list[MetricDelta]
    regressions: list[Regression]
    notes: list[str] = field(default_factory=list)
    missing_cases: list[str] = field(default_factory=list)
    """Cases of the baseline the candidate did not run: any fails the comparison."""

    @property
    def failed_gates(self) -> list[MetricDelta]:
        return [d for d in self.deltas if d.gate_failed]

    @property
    def passed(self) -> bool:
        return not self.failed_gates and not self.missing_cases


def merged_gates(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Every gate of either summary; the smaller allowed drop where both set one."""
    gates: dict[str, float] = dict(before.get("gates") or {})
    for metric, drop in (after.get("gates") or {}).items():
        gates[metric] = min(drop, gates[metric]) if metric in gates else drop
    return gates


def compare(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    """`before` is the baseline, `after` the candidate. Raises NurtureError when the two cannot
    be compared (different suites, a gated metric without a value in either)."""
    if before.get("suite") != after.get("suite"):
        raise NurtureError(
            f"cannot compare runs of different suites: the baseline ran "
            f"'{before.get('suite')}', the candidate '{after.get('suite')}'"
        )
    gates = merged_gates(before, after)
    unmeasured = []
    for metric in gates:
        sides = [
            side
            for side, summary in (("baseline", before), ("candidate", after))
            if summary["metrics"].get(metric) is None
        ]
        if sides:
            unmeasured.append(f"{metric} (no value in the {' or the '.join(sides)})")
    if unmeasured:
        raise NurtureError(
            "cannot check the gates: a gated metric must have a value in both runs, but "
            + "; ".join(unmeasured)
        )
    names = list(dict.fromkeys([*before["metrics"], *after["metrics"]]))
    deltas = [
        MetricDelta(
            metric=name,
            before=before["metrics"].get(name),
            after=after["metrics"].get(name),
            allowed_drop=gates.get(name),
        )
        for name in names
    ]
    notes = []
    for key in ("drafter", "prompt_version", "playbook_version"):
        if before.get(key) != after.get(key):
            notes.append(f"{key}: {before.get(key)} → {after.get(key)}")
    own = [before.get("gates") or {}, after.get("gates") or {}]
    differing = [
        f"{metric} {_gate(own[0].get(metric))} → {_gate(own[1].get(metric))}"
        for metric in gates
        if own[0].get(metric) != own[1].get(metric)
    ]
    if differing:
        notes.append(
            f"gates differ (baseline → candidate): {', '.join(differing)}; the stricter applies"
        )
    cases_before = before.get("case_results", {})
    cases_after = after.get("case_results", {})
    gone = sorted(set(cases_before) - set(cases_after))
    new = sorted(set(cases_after) - set(cases_before))
    if new:
        notes.append(f"cases only in the candidate: {', '.join(new)}")
    return Comparison(
        before, after, deltas, _regressions(cases_before, cases_after), notes, missing_cases=gone
    )


def _gate(drop: float | None) -> str:
    return "none" if drop is None else f"{drop:g}"


def _regressions(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[Regression]:
    found = []
    for case_id, now in after.items():
        if case_id not in before:
            continue
        was_failing = set(before[case_id].get("failed", []))
        newly = [name for name in now.get("failed", []) if name not in was_failing]
        if newly:
            found.append(Regression(case_id, newly))
    return found
