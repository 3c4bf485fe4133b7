"""Every case of the core suite is decided by the shipped playbook exactly as the case expects,
so the suite's expectations stay true of the playbook that ships."""

from __future__ import annotations

import pytest

from agent.decisions import decide
from agent.playbook import STAGES, Playbook
from agent.playbook.models import Action
from evals.checks.text import normalise
from evals.run_checks import EVERY_CHECK
from evals.suites import CORE, Case, Suite, load_suite, playbook_problems

SUITE = load_suite(CORE)
ACTIONS: tuple[Action, ...] = (
    "suppress",
    "with_sales",
    "handoff_to_sales",
    "wait",
    "re_engage",
    "send_email",
)


@pytest.fixture(scope="module")
def suite() -> Suite:
    return SUITE


@pytest.mark.parametrize("case", SUITE.cases, ids=[c.id for c in SUITE.cases])
def test_case_is_decided_as_expected(case: Case, playbook: Playbook) -> None:
    d = decide(case.lead.to_lead(), case.to_events(SUITE.now), playbook, SUITE.now)
    expect = case.expect
    assert (d.stage, d.action) == (expect.stage, expect.action), d.reasons[0].text
    if expect.rule is not None:
        assert d.reasons[0].rule == expect.rule
    if expect.action not in ("send_email", "re_engage"):
        assert d.content is None
        return
    assert d.content is not None
    if expect.content_kinds:
        assert d.content.kinds == list(expect.content_kinds)
    elif expect.action == "re_engage":
        assert d.content.kinds == playbook.content.re_engage_kinds
    else:
        assert d.content.kinds == playbook.content.stage_kinds[expect.stage]


def test_the_playbook_reads_every_event_and_rule_of_the_suite(
    suite: Suite, playbook: Playbook
) -> None:
    assert playbook_problems(suite, playbook) == []


def test_suite_covers_every_stage_and_action(suite: Suite) -> None:
    assert len(suite.cases) >= 40
    assert {c.expect.stage for c in suite.cases} == set(STAGES)
    assert {c.expect.action for c in suite.cases} == set(ACTIONS)
    emailed = [c for c in suite.cases if c.expect.action == "send_email"]
    assert {c.expect.stage for c in emailed} == set(STAGES)


def test_suite_covers_the_hard_cases(suite: Suite) -> None:
    messages = [
        str(e.properties.get("message", "")).casefold() for c in suite.cases for e in c.events
    ]
    assert any("ignore previous instructions" in m for m in messages)
    assert any(not c.events for c in suite.cases)  # a lead with no timeline at all
    assert any(c.lead.do_not_contact for c in suite.cases)
    assert any(e.type == "unsubscribe" for c in suite.cases for e in c.events)
    rules = {c.expect.rule for c in suite.cases}
    assert {"handoff.demo_request", "handoff.hot", "re_engage.dormant"} <= rules


def test_suite_spans_industries_and_personas(suite: Suite) -> None:
    industries = {c.lead.attributes.get("industry") for c in suite.cases}
    titles = {c.lead.attributes.get("title") for c in suite.cases}
    assert len(industries - {None}) >= 8
    assert len(titles - {None}) >= 30


def test_emails_are_expected_to_personalise(suite: Suite) -> None:
    quiet = [
        c.id
        for c in suite.cases
        if c.expect.action in ("send_email", "re_engage") and not c.expect.personalise_on
    ]
    assert quiet == []


@pytest.mark.parametrize("case", SUITE.cases, ids=[c.id for c in SUITE.cases])
def test_personalisation_facts_are_true_of_the_lead(case: Case) -> None:
    """A case may only ask a draft to use what the lead's record or timeline says."""
    known = [case.lead.company or "", case.lead.name or ""]
    known += [str(v) for v in case.lead.attributes.values()]
    known += [str(v) for e in case.events for v in e.properties.values()]
    record = f" {normalise(' | '.join(known))} "
    invented = [f for f in case.expect.personalise_on if f" {normalise(f)} " not in record]
    assert invented == []


def test_every_check_is_gated(suite: Suite) -> None:
    # every check, but the multi-turn one: core has no feedback step (the hard suite gates it)
    checks = [name for name in EVERY_CHECK if name != "redraft_changed"]
    assert set(suite.gates) == {"pass_rate", *(f"checks.{name}" for name in checks)}
    assert "checks.redraft_changed" in HARD.gates
    assert suite.thresholds.readability_min == 45


HARD = load_suite(CORE.parent / "hard.yaml")


@pytest.mark.parametrize("case", HARD.cases, ids=[c.id for c in HARD.cases])
def test_hard_case_is_decided_as_expected(case: Case, playbook: Playbook) -> None:
    """The hard suite's expectations are true of the shipped playbook too (its difficulty is in
    the drafts, not the decisions)."""
    test_case_is_decided_as_expected(case, playbook)


def test_the_hard_suite_is_big_enough_and_readable_by_the_playbook(playbook: Playbook) -> None:
    assert len(HARD.cases) >= 30
    assert playbook_problems(HARD, playbook) == []
    assert sum(1 for c in HARD.cases if c.feedback) >= 3
