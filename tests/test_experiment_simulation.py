"""The issue's simulation: 2,000 simulated leads per run, reply rates 4% and 8%, split by the
service's own assignment and judged by its own stop rule (agent/experiments), over 500 seeds.
A real difference is found in at least 90% of runs; with no difference, false winners stay
within alpha plus two standard errors of a rate measured over 500 runs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from agent.experiments.assignment import variant_for
from agent.experiments.results import verdict_on
from agent.playbook.models import Experiment, StopRule
from agent.store.experiments import ExposedLead

SEEDS = 500
LEADS = 2000
ALPHA = 0.05
EXPERIMENT = Experiment(
    id="subject-question",
    element="subject_style",
    variants=["topic", "question"],
    stop=StopRule(min_sends_per_variant=900, alpha=ALPHA, metric="reply"),
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def run(seed: int, rates: dict[str, float]) -> str:
    """One simulated population sent its emails in lead order; the verdict's summary."""
    rng = np.random.default_rng(seed)
    draws = rng.random(LEADS)
    leads = []
    for i in range(LEADS):
        lead_id = f"sim-{seed}-{i}"
        variant = variant_for(EXPERIMENT.id, lead_id, EXPERIMENT.variants)
        replied = {"reply"} if draws[i] < rates[variant] else set()
        leads.append(ExposedLead(lead_id, variant, START + timedelta(minutes=i), 1, replied))
    return verdict_on(EXPERIMENT, leads).describe()


def test_a_real_difference_is_detected_in_at_least_90_percent_of_runs() -> None:
    verdicts = [run(seed, {"topic": 0.04, "question": 0.08}) for seed in range(SEEDS)]
    assert verdicts.count("running") == 0  # 2,000 leads always give 900 per variant
    detected = verdicts.count("winner question") / SEEDS
    assert detected >= 0.90, detected
    assert verdicts.count("winner topic") == 0  # never the worse one


def test_with_no_difference_false_winners_stay_within_alpha_plus_two_standard_errors() -> None:
    verdicts = [run(10_000 + seed, {"topic": 0.06, "question": 0.06}) for seed in range(SEEDS)]
    false_positive = sum(v.startswith("winner") for v in verdicts) / SEEDS
    bound = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / SEEDS)
    assert false_positive <= bound, (false_positive, bound)
