"""Learning from edits, end to end: a real draft flow (offline drafter, SMTP server on
127.0.0.1) where a marketer edits a draft before approving it; the harvest turns it into a suite
case that loads back, decides as recorded, and carries the approved text as its reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from agent.decisions import decide
from agent.edit_distance import edit_distance, email_text
from agent.store.approvals import get_approval
from agent.store.schema import ApprovalRow
from evals.harvest import (
    HarvestedCase,
    case_id,
    collect,
    format_duration,
    harvest,
    load_harvested,
    write_harvest,
)
from evals.suites import CORE, SuiteError, load_suite
from tests.utils.agent_world import WHITEPAPER, World, drafted

SUITE_NOW = load_suite(CORE).now
OMAR = {
    "id": "L2",
    "email": "omar@kestrel.example",
    "name": "Omar Haddad",
    "company": "Kestrel Retail",
    "attributes": {"industry": "retail", "employees": 900, "title": "Supply Chain Director"},
}
EDITED_SUBJECT = "A short read on time windows, Dana"


def edit_and_send(world: World, approval_id: str) -> str:
    """The marketer rewrites the opening and keeps the unsubscribe line; the edit is sent."""
    row = get_approval(world.agent.ctx.db, approval_id)
    body = (
        "Hi Dana,\n\nNorthwind Freight came up in our planning review: this guide on delivery "
        "time windows is worth five minutes.\n\n"
        f"{row.body.splitlines()[-1]}\n"
    )
    result = world.agent.answer(approval_id, "edit", by="mia", subject=EDITED_SUBJECT, body=body)
    assert result.outcome == "sent"
    return body


def test_an_edited_draft_becomes_a_case_that_loads_back(world: World, tmp_path: Path) -> None:
    db, playbook = world.agent.ctx.db, world.agent.ctx.playbook
    edited_id = drafted(world)
    draft = get_approval(db, edited_id)
    approved_body = edit_and_send(world, edited_id)
    accepted_id = drafted(world, OMAR, WHITEPAPER)
    world.agent.answer(accepted_id, "accept", by="mia")

    cases = harvest(db, playbook, now=SUITE_NOW)

    # only the edited draft; the accepted one taught us nothing about the wording
    assert [c.source_approval_id for c in cases] == [edited_id]
    path = tmp_path / "harvested.yaml"
    written = write_harvest(cases, path)
    suite = load_harvested(path)
    assert suite == written
    core = load_suite(CORE)
    assert (suite.name, suite.now, suite.gates, suite.thresholds) == (
        "core-harvested",
        core.now,
        core.gates,
        core.thresholds,
    )
    [case] = suite.cases
    assert case.id == case_id(edited_id, "L1") and case.id.startswith("harvest-l1-")
    assert case.reference.subject == EDITED_SUBJECT
    assert case.reference.body == approved_body
    assert case.lead.id == "L1" and case.lead.company == "Northwind Freight"
    assert case.lead.attributes["industry"] == "logistics"
    # the recorded decision is the expectation
    decision = draft.decision
    assert case.expect.stage == decision["stage"]
    assert case.expect.action == decision["action"] == "send_email"
    assert case.expect.rule == decision["reasons"][0]["rule"]
    assert list(case.expect.content_kinds or ()) == decision["content"]["kinds"]
    assert "Northwind Freight" in case.expect.personalise_on
    # the timeline as the agent saw it: both seeded events, at the same distance from the decision
    by_type = {e.type: e for e in case.events}
    assert set(by_type) == {"blog_view", "whitepaper_download"}
    assert by_type["whitepaper_download"].properties["asset_id"] == "wp-time-windows-routing-cost"
    ago = by_type["whitepaper_download"].ago
    assert ago is not None and abs(ago - timedelta(days=4)) < timedelta(minutes=1)
    # and the case replays to the same decision at the suite's now
    replay = decide(case.lead.to_lead(), case.to_events(suite.now), playbook, suite.now)
    assert (replay.stage, replay.action, replay.reasons[0].rule) == (
        case.expect.stage,
        case.expect.action,
        case.expect.rule,
    )
    # the file is readable: bodies as literal blocks, durations in the suite syntax
    text = path.read_text(encoding="utf-8")
    assert "body: |" in text and "ago: P" not in text
    assert yaml.safe_load(text)["cases"][0]["source_approval_id"] == edited_id


def test_harvesting_again_adds_nothing_twice(world: World, tmp_path: Path) -> None:
    db, playbook = world.agent.ctx.db, world.agent.ctx.playbook
    edit_and_send(world, drafted(world))
    path = tmp_path / "harvested.yaml"
    write_harvest(harvest(db, playbook, now=SUITE_NOW), path)
    write_harvest(harvest(db, playbook, now=SUITE_NOW), path)
    assert len(load_harvested(path).cases) == 1
    # `since` after the edit: nothing new
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert harvest(db, playbook, now=SUITE_NOW, since=later) == []


def test_an_edit_that_broke_a_guardrail_is_not_a_reference(world: World) -> None:
    db, playbook = world.agent.ctx.db, world.agent.ctx.playbook
    approval_id = drafted(world)
    row = get_approval(db, approval_id)
    body = f"Hi Dana, our pricing is 50% off this week.\n{row.body.splitlines()[-1]}\n"
    result = world.agent.answer(approval_id, "edit", by="sam", subject="Deal", body=body)
    assert result.outcome == "awaiting_approval"  # flagged, sent back for review, unsent

    found = collect(db, playbook, now=SUITE_NOW)

    assert found.cases == []
    assert found.skipped == [(approval_id, "its edited text was not sent (no send)")]
    # unless asked for every edit
    [case] = harvest(db, playbook, now=SUITE_NOW, only_sent=False)
    assert case.reference.subject == "Deal"


def test_a_pending_or_accepted_draft_is_not_harvested(world: World) -> None:
    db, playbook = world.agent.ctx.db, world.agent.ctx.playbook
    drafted(world)  # left pending
    world.agent.answer(drafted(world, OMAR, WHITEPAPER), "accept", by="mia")
    assert harvest(db, playbook, now=SUITE_NOW) == []


def test_a_reference_without_a_body_is_refused_with_its_line(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nnow: 2026-11-20T12:00:00Z\ncases:\n"
        "  - id: harvest-x\n    description: d\n"
        "    lead: {id: L1, email: a@b.example}\n"
        "    expect: {stage: awareness, action: send_email}\n"
        "    reference: {subject: s}\n"
        "    source_approval_id: A1\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as stock:
        load_suite(bad)
    assert "reference" in str(stock.value)
    with pytest.raises(SuiteError) as ours:
        load_harvested(bad)
    [problem] = ours.value.problems
    assert "cases[0].reference.body" in problem and "(case harvest-x)" in problem
    assert problem.startswith(f"{bad}:8")


def test_harvested_case_requires_its_reference() -> None:
    with pytest.raises(ValueError, match="reference"):
        HarvestedCase.model_validate(
            {
                "id": "harvest-x",
                "description": "d",
                "lead": {"id": "L1", "email": "a@b.example"},
                "expect": {"stage": "awareness", "action": "send_email"},
                "source_approval_id": "A1",
            }
        )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(weeks=2), "2w"),
        (timedelta(days=4), "4d"),
        (timedelta(hours=5), "5h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=30), "0.5m"),
        (timedelta(0), "0w"),
    ],
)
def test_durations_use_the_suite_syntax(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


def test_case_ids_are_suite_safe_and_distinct() -> None:
    approval = "3f962710-7a4e-4dfb-8677-572df9a65e8c.1"
    other = "9b1c0c52-2f4e-4a8e-9d0b-0d6a1d3e7f10.1"
    assert case_id(approval, "L1") != case_id(other, "l1")  # the slugs alone would be equal
    assert case_id(approval, "L1") != case_id(approval.replace(".1", ".2"), "L1")
    assert case_id(approval, "L1").startswith("harvest-l1-")
    assert len(case_id(approval, "X" * 500)) <= 80


# --- edit distance -------------------------------------------------------------------------------


def test_identical_texts_are_at_distance_zero() -> None:
    text = email_text("Hello", "Hi Dana,\n\nA short read.\n")
    distance = edit_distance(text, text.replace("\n", "\r\n") + "  ")
    assert distance.identical
    assert (distance.chars, distance.words_changed) == (0.0, 0)
    assert distance.words_draft == distance.words_approved == 6


def test_an_edit_is_measured_in_characters_and_words() -> None:
    draft = "Hi Dana,\n\nThis guide shows where wasted miles hide in manual route planning."
    approved = "Hi Dana,\n\nThis short guide shows where empty miles hide in route planning."
    distance = edit_distance(draft, approved)
    assert 0 < distance.chars <= 1
    # "short" inserted, "wasted" → "empty", "manual" deleted
    assert distance.words_changed == 3
    assert not distance.identical


def test_nothing_in_common_is_distance_one() -> None:
    assert edit_distance("aaaa", "zzzz").chars == 1.0
    assert edit_distance("", "").chars == 0.0
    bigger = edit_distance("one two three", "completely different words here")
    smaller = edit_distance("one two three", "one two four")
    assert 0 < smaller.chars < bigger.chars <= 1


def test_a_case_the_playbook_now_decides_differently_is_skipped(world: World) -> None:
    db, playbook = world.agent.ctx.db, world.agent.ctx.playbook
    approval_id = drafted(world)
    edit_and_send(world, approval_id)
    # as if the draft had been decided by an older playbook, by another rule
    with db.session() as session:
        row = session.get(ApprovalRow, approval_id)
        assert row is not None
        decision = dict(row.decision)
        decision["reasons"] = [{"rule": "send.stage_content", "text": "old"}]
        row.decision = decision

    found = collect(db, playbook, now=SUITE_NOW)

    assert found.cases == []
    [(skipped_id, reason)] = found.skipped
    assert skipped_id == approval_id
    assert "scenario.whitepaper_case_study" in reason and "send.stage_content" in reason
