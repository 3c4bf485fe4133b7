"""Deterministic draft-quality checks: small pure functions of one drafted email and its context,
each answering pass or fail with the reason (and a score where one means something)."""

from evals.checks.model import (
    Activity,
    CheckInput,
    CheckResult,
    CitedContent,
    Expectations,
    Thresholds,
)
from evals.checks.registry import ALL_CHECKS, Check, run_checks

__all__ = [
    "Activity",
    "ALL_CHECKS",
    "Check",
    "CheckInput",
    "CheckResult",
    "CitedContent",
    "Expectations",
    "Thresholds",
    "run_checks",
]
