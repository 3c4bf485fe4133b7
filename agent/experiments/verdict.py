"""The stop rule's verdict on an experiment, from counts per variant.

The test runs once, on a fixed sample: the first `min_sends_per_variant` sends of each variant.
Re-testing as sends accumulate and stopping at the first p < alpha would make false winners far
likelier than alpha; a fixed horizon keeps the error rate what the playbook says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportions_chisquare, proportions_ztest

from agent.playbook.models import StopRule

Status = Literal["running", "winner", "no_difference"]
SMALL_EXPECTED = 5
"""Below this many expected successes or failures in a cell, the z-test's normal approximation
is poor: two variants are compared with Fisher's exact test instead."""


@dataclass(frozen=True)
class Verdict:
    status: Status
    winner: str | None
    test: str | None
    p_value: float | None

    def describe(self) -> str:
        if self.status == "running":
            return "running"
        if self.status == "winner":
            return f"winner {self.winner}"
        return "no difference"


def test_proportions(successes: Sequence[int], trials: Sequence[int]) -> tuple[str, float]:
    """(the test's name, its two-sided p-value) for equal rates across the variants."""
    count, nobs = np.asarray(successes), np.asarray(trials)
    if len(count) == 2:
        pooled = count.sum() / nobs.sum()
        expected = np.concatenate([nobs * pooled, nobs * (1 - pooled)])
        if expected.min() < SMALL_EXPECTED:
            table = [[int(c), int(n - c)] for c, n in zip(count, nobs, strict=True)]
            return "fisher_exact", float(fisher_exact(table).pvalue)
        if count.sum() in (0, nobs.sum()):
            return "two-proportion z-test", 1.0  # every variant all or nothing: no difference
        _, p = proportions_ztest(count, nobs)
        return "two-proportion z-test", float(p)
    if count.sum() in (0, nobs.sum()):
        return "chi-square test of proportions", 1.0
    _, p, _ = proportions_chisquare(count, nobs)
    return "chi-square test of proportions", float(p)


def decide(
    variants: Sequence[str], successes: Sequence[int], trials: Sequence[int], rule: StopRule
) -> Verdict:
    """The verdict on the fixed sample: `trials` must be at most `min_sends_per_variant` each
    (the caller counts the first sends only); fewer in any variant: still running."""
    if min(trials) < rule.min_sends_per_variant:
        return Verdict("running", None, None, None)
    test, p_value = test_proportions(successes, trials)
    if p_value >= rule.alpha:
        return Verdict("no_difference", None, test, p_value)
    rates = [s / n for s, n in zip(successes, trials, strict=True)]
    return Verdict("winner", variants[int(np.argmax(rates))], test, p_value)
