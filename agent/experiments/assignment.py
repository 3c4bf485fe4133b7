"""Which variant of each experiment a lead gets: a stable hash of (experiment id, lead id), so
every run, process and replica gives a lead the same variant (Python's hash() is salted per
process; sha256 is not)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from agent.playbook.models import Experiment, Playbook


def variant_for(experiment_id: str, lead_id: str, variants: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{experiment_id}\x00{lead_id}".encode()).digest()
    return variants[int.from_bytes(digest[:8], "big") % len(variants)]


def applies(experiment: Experiment, stage: str) -> bool:
    return experiment.stages is None or stage in experiment.stages


def assignments(playbook: Playbook, lead_id: str, stage: str) -> dict[str, str]:
    """Experiment id → the lead's variant, for the experiments running at this stage."""
    return {
        e.id: variant_for(e.id, lead_id, e.variants)
        for e in playbook.experiments
        if applies(e, stage)
    }


def drafter_parameters(playbook: Playbook, assigned: dict[str, str]) -> dict[str, str]:
    """The drafter's named parameters the assignments set (element → value)."""
    elements = {e.id: e.element for e in playbook.experiments}
    return {elements[eid]: variant for eid, variant in assigned.items() if eid in elements}


def draft_style(playbook: Playbook, lead_id: str, stage: str) -> dict[str, str]:
    """The drafter's parameters for this lead: the playbook's `drafting` defaults, overridden by
    the variants of the experiments it takes part in."""
    defaults = playbook.drafting.model_dump(exclude_none=True)
    return {**defaults, **drafter_parameters(playbook, assignments(playbook, lead_id, stage))}
