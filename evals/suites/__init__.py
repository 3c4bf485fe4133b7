"""Draft-quality eval suites: cases of a lead and its timeline, and what a good answer is."""

from evals.suites.loader import CORE, SuiteError, load_suite, parse_suite
from evals.suites.model import Case, EventIn, LeadIn, Reference, Suite, playbook_problems

__all__ = [
    "CORE",
    "Case",
    "EventIn",
    "LeadIn",
    "Reference",
    "Suite",
    "SuiteError",
    "load_suite",
    "parse_suite",
    "playbook_problems",
]
