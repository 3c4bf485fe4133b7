"""Run-level checks: what only shows across many drafts (the same opening sent to many leads).

A run-level check reads every drafted email of a run and answers one verdict per draft, which
the runner adds to that case's checks, so a repeat fails the cases that repeat."""

from evals.run_checks.apply import EVERY_CHECK, apply_run_checks
from evals.run_checks.openings import RUN_CHECKS, opening_of, repeated_opening

__all__ = ["EVERY_CHECK", "RUN_CHECKS", "apply_run_checks", "opening_of", "repeated_opening"]
