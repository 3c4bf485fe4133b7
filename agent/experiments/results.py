"""Each experiment's results per variant, and the stop rule's verdict, from the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.experiments.verdict import Verdict, decide
from agent.playbook.models import Experiment, Playbook
from agent.store.database import Database
from agent.store.experiments import OUTCOME_EVENTS, ExposedLead, exposed_leads

_COUNT_KEYS = {"reply": "replies", "click": "clicks", "unsubscribe": "unsubscribes"}
"""How each outcome's count is named in the JSON (GET /v1/experiments, `--json`)."""


@dataclass(frozen=True)
class VariantResult:
    variant: str
    leads: int
    sends: int
    outcomes: dict[str, int]
    """Outcome (reply, click, unsubscribe) → leads that had it after their first send."""

    def rate(self, outcome: str) -> float | None:
        return self.outcomes[outcome] / self.leads if self.leads else None

    def as_dict(self) -> dict[str, Any]:
        rates = {f"{name}_rate": self.rate(name) for name in OUTCOME_EVENTS}
        counts = {_COUNT_KEYS[name]: n for name, n in self.outcomes.items()}
        return {
            "variant": self.variant,
            "leads": self.leads,
            "sends": self.sends,
            **counts,
            **rates,
        }


@dataclass(frozen=True)
class ExperimentResult:
    experiment: Experiment
    variants: list[VariantResult]
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        e, v = self.experiment, self.verdict
        return {
            "id": e.id,
            "element": e.element,
            "stages": e.stages,
            "stop": e.stop.model_dump(),
            "variants": [r.as_dict() for r in self.variants],
            "verdict": {
                "status": v.status,
                "winner": v.winner,
                "metric": e.stop.metric,
                "test": v.test,
                "p_value": v.p_value,
                "summary": v.describe(),
            },
        }


def verdict_on(experiment: Experiment, leads: list[ExposedLead]) -> Verdict:
    """The stop rule on the fixed sample: each variant's first `min_sends_per_variant` leads."""
    rule = experiment.stop
    successes, trials = [], []
    for variant in experiment.variants:
        sample = [lead for lead in leads if lead.variant == variant][: rule.min_sends_per_variant]
        trials.append(len(sample))
        successes.append(sum(rule.metric in lead.outcomes for lead in sample))
    return decide(experiment.variants, successes, trials, rule)


def summarise(experiment: Experiment, leads: list[ExposedLead]) -> ExperimentResult:
    variants = []
    for variant in experiment.variants:
        mine = [lead for lead in leads if lead.variant == variant]
        counts = {name: sum(name in lead.outcomes for lead in mine) for name in OUTCOME_EVENTS}
        sends = sum(lead.sends for lead in mine)
        variants.append(VariantResult(variant, len(mine), sends, counts))
    return ExperimentResult(experiment, variants, verdict_on(experiment, leads))


def experiment_results(db: Database, playbook: Playbook) -> list[ExperimentResult]:
    """The playbook's experiments, each with what the store says of it so far."""
    exposed = exposed_leads(db)
    return [summarise(e, exposed.get(e.id, [])) for e in playbook.experiments]
