"""Comparing two runs: per-metric deltas, the cases that regressed, and the suite's gates.

A gate is 'metric → the largest drop allowed' (suite header `gates`). The candidate's own gates
are used (they travel in its summary), so a suite that tightens a gate applies it from the run
that tightened it. A gated metric the candidate lacks while the baseline has it fails its gate:
a metric that vanished cannot be shown not to have dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
        if self.allowed_drop is None or self.before is None:
            return False
        if self.after is None:
            return True
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

    @property
    def failed_gates(self) -> list[MetricDelta]:
        return [d for d in self.deltas if d.gate_failed]

    @property
    def passed(self) -> bool:
        return not self.failed_gates


def compare(before: dict[str, Any], after: dict[str, Any]) -> Comparison:
    gates: dict[str, float] = after.get("gates") or before.get("gates") or {}
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
    if before.get("suite") != after.get("suite"):
        notes.append(f"different suites: {before.get('suite')} vs {after.get('suite')}")
    for key in ("drafter", "prompt_version", "playbook_version"):
        if before.get(key) != after.get(key):
            notes.append(f"{key}: {before.get(key)} → {after.get(key)}")
    cases_before = before.get("case_results", {})
    cases_after = after.get("case_results", {})
    gone = sorted(set(cases_before) - set(cases_after))
    new = sorted(set(cases_after) - set(cases_before))
    if gone:
        notes.append(f"cases only in the baseline: {', '.join(gone)}")
    if new:
        notes.append(f"cases only in the candidate: {', '.join(new)}")
    return Comparison(before, after, deltas, _regressions(cases_before, cases_after), notes)


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
