"""Adds each run-level check's verdicts to the case records of a finished run."""

from __future__ import annotations

from evals.checks import ALL_CHECKS
from evals.multiturn import MULTI_TURN_CHECKS
from evals.records import EMAILING, CaseRecord, CheckOutcome
from evals.run_checks.openings import RUN_CHECKS

EVERY_CHECK: tuple[str, ...] = (*ALL_CHECKS, *MULTI_TURN_CHECKS, *RUN_CHECKS)
"""Per-draft checks, the multi-turn one, then run-level ones: the names a suite may gate on."""


def apply_run_checks(records: list[CaseRecord]) -> None:
    drafts = [(r.case_id, r.body) for r in records if r.body is not None]
    for name, check in RUN_CHECKS.items():
        verdicts = check(drafts)
        for record in records:
            verdict = verdicts.get(record.case_id)
            if verdict is not None:
                outcome = CheckOutcome(name, verdict.passed, verdict.detail, verdict.score)
            elif record.expected["action"] in EMAILING:
                outcome = CheckOutcome(name, False, "no draft to judge")
            else:
                outcome = CheckOutcome(name, None, f"no email due ({record.expected['action']})")
            record.add_check(outcome)
