"""Suite files load into validated models, and a broken one says where and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.playbook import Playbook
from evals.suites import SuiteError, parse_suite, playbook_problems

HEADER = "name: t\nnow: 2026-11-20T12:00:00Z\n"
CASE = """\
  - id: c1
    description: one case
    lead: {id: L1, email: dana@northwind.example, attributes: {industry: logistics}}
    events:
      - {type: page_view, ago: 36h, properties: {path: /pricing}}
      - {type: blog_view, at: "2026-11-01T09:00:00+01:00"}
    expect: {stage: consideration, action: send_email, personalise_on: [logistics]}
"""


def _problems(text: str) -> str:
    with pytest.raises(SuiteError) as caught:
        parse_suite(text, source="s.yaml")
    return str(caught.value)


def test_a_case_becomes_a_lead_and_its_events() -> None:
    suite = parse_suite(HEADER + "cases:\n" + CASE)
    case = suite.cases[0]
    lead = case.lead.to_lead()
    events = case.to_events(suite.now)
    assert (lead.id, lead.attributes["industry"], lead.do_not_contact) == ("L1", "logistics", False)
    assert [e.id for e in events] == ["c1.e1", "c1.e2"]
    assert events[0].occurred_at == suite.now - timedelta(hours=36)
    assert events[1].occurred_at == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert events[0].properties == {"path": "/pricing"}
    assert {e.lead_id for e in events} == {"L1"}


@pytest.mark.parametrize(
    ("ago", "expected"),
    [("45m", timedelta(minutes=45)), ("2h", timedelta(hours=2)), ("1.5w", timedelta(days=10.5))],
)
def test_durations(ago: str, expected: timedelta) -> None:
    text = HEADER + "cases:\n" + CASE.replace("ago: 36h", f"ago: {ago}")
    assert parse_suite(text).cases[0].events[0].ago == expected


def test_a_field_error_names_file_line_path_and_case() -> None:
    message = _problems(HEADER + "cases:\n" + CASE.replace("ago: 36h", "ago: 3x"))
    assert "s.yaml:8: cases[0].events[0].ago: '3x' is not a duration" in message
    assert message.endswith("(case c1)")


def test_unknown_keys_are_errors() -> None:
    message = _problems(HEADER + "cases:\n" + CASE.replace("personalise_on", "personalize_on"))
    assert "cases[0].expect.personalize_on: unknown key" in message


def test_an_event_needs_exactly_one_time() -> None:
    message = _problems(
        HEADER + "cases:\n" + CASE.replace("ago: 36h", "ago: 36h, at: 2026-11-01T00:00:00Z")
    )
    assert "exactly one of 'ago'" in message


def test_content_kinds_only_for_emails() -> None:
    text = (
        HEADER
        + "cases:\n"
        + CASE.replace("action: send_email", "action: wait, content_kinds: [blog]")
    )
    assert "content_kinds only applies to send_email and re_engage, not wait" in _problems(text)


def test_suite_level_mistakes_are_reported_together() -> None:
    text = (
        HEADER
        + "gates: {pass_rate: 0.02, checks.grounding: 0, checks.grounded: 0}\n"
        + "cases:\n"
        + CASE
        + CASE.replace("ago: 36h", "at: 2026-12-01T00:00:00Z")
    )
    message = _problems(text)
    assert "case id 'c1' is used twice" in message
    assert "case 'c1' has events after now: page_view" in message
    assert "unknown gates: checks.grounded" in message


def test_not_yaml_and_not_a_mapping() -> None:
    assert "s.yaml:2: not valid YAML" in _problems("name: t\n  bad: [\n")
    assert "must be a mapping" in _problems("- just a list\n")


def test_playbook_problems_name_unknown_event_types_and_rules(playbook: Playbook) -> None:
    text = HEADER + "cases:\n" + CASE.replace("type: blog_view", "type: blogview")
    suite = parse_suite(text.replace("personalise_on", "rule: send.typo, personalise_on"))
    assert playbook_problems(suite, playbook) == [
        "case 'c1': event type 'blogview' is not in the playbook",
        "case 'c1': no action rule 'send.typo'",
    ]
