"""Every draft-quality check by name, and running them on one draft."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from evals.checks.decision import action_and_stage, content_kind
from evals.checks.guardrail import grounding, placeholders, stage_terms
from evals.checks.injection import injection
from evals.checks.length import body_length, subject_length
from evals.checks.model import CheckInput, CheckResult
from evals.checks.personalisation import personalisation
from evals.checks.readability import readability
from evals.checks.reader import asset_topic, facts_used, hook_evidence, peer_match, subject_quality
from evals.checks.structure import call_to_action, unsubscribe
from evals.checks.wording import must_not_use, spam_words

Check = Callable[[CheckInput], CheckResult]

# A check's name is its function's name: suites gate on these names, so they must not drift.
ALL_CHECKS: Mapping[str, Check] = MappingProxyType(
    {
        check.__name__: check
        for check in (
            action_and_stage,
            content_kind,
            stage_terms,
            grounding,
            personalisation,
            subject_length,
            body_length,
            readability,
            spam_words,
            unsubscribe,
            call_to_action,
            placeholders,
            must_not_use,
            subject_quality,
            hook_evidence,
            asset_topic,
            peer_match,
            facts_used,
            injection,
        )
    }
)


def run_checks(inp: CheckInput) -> list[CheckResult]:
    """Every check on one draft, in registry order."""
    return [check(inp) for check in ALL_CHECKS.values()]
