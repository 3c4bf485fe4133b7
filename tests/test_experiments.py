"""A/B experiments on drafts (issue #18, item 1): the playbook declares them, each lead gets a
stable variant, the template drafter writes with it, and the results per variant come from the
sends and the mail events that followed them."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from agent.drafting.models import CitedAsset, DraftRequest
from agent.drafting.template import TemplateDrafter
from agent.experiments.assignment import assignments, variant_for
from agent.experiments.results import experiment_results
from agent.playbook import Playbook, PlaybookError, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.approvals import PendingDraft, open_approval
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.runs import record_run
from agent.store.schema import SendRow

DEFAULT_TEXT = DEFAULT_PLAYBOOK.read_text()
SUBJECTS = """
experiments:
  - id: subject-question
    element: subject_style
    variants: [topic, question]
    stages: [interest, consideration]
    stop: {min_sends_per_variant: 3, alpha: 0.05, metric: reply}
"""


def with_experiments(yaml_text: str) -> str:
    return DEFAULT_TEXT.rstrip("\n") + "\n" + yaml_text


def problems(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, source="pb.yaml")
    return [p.render("pb.yaml") for p in caught.value.problems]


def test_the_playbook_declares_an_experiment() -> None:
    [experiment] = parse_playbook(with_experiments(SUBJECTS)).experiments
    assert experiment.element == "subject_style"
    assert experiment.variants == ["topic", "question"]
    assert experiment.stages == ["interest", "consideration"]
    assert experiment.stop.min_sends_per_variant == 3


def test_a_variant_the_drafter_does_not_know_is_refused_with_its_path() -> None:
    text = with_experiments(SUBJECTS.replace("[topic, question]", "[topic, shouty]"))
    [problem] = problems(text)
    assert "experiments[0].variants[1]" in problem
    assert "'shouty' is not a value of subject_style" in problem
    assert "topic, question" in problem


def test_an_unknown_element_is_refused() -> None:
    [problem] = problems(with_experiments(SUBJECTS.replace("subject_style", "asset_colour")))
    assert "experiments[0].element" in problem


def test_two_experiments_on_one_element_and_stage_are_refused() -> None:
    second = SUBJECTS.replace("experiments:\n", "").replace("subject-question", "subject-again")
    [problem] = problems(with_experiments(SUBJECTS + second))
    assert "experiments[1].element" in problem and "subject-question" in problem


def test_assignment_is_stable_across_processes_and_balanced() -> None:
    leads = [f"L{i}" for i in range(4000)]
    here = [variant_for("exp", lead, ["a", "b"]) for lead in leads[:50]]
    code = (
        "from agent.experiments.assignment import variant_for;"
        "print(''.join(variant_for('exp', f'L{i}', ['a', 'b']) for i in range(50)))"
    )
    for seed in ("1", "2"):
        other = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert other.stdout.strip() == "".join(here)
    share = sum(variant_for("exp", lead, ["a", "b"]) == "a" for lead in leads) / len(leads)
    assert 0.46 < share < 0.54
    # another experiment splits the same leads independently of this one
    again = [variant_for("other", lead, ["a", "b"]) for lead in leads]
    same = sum(
        x == y
        for x, y in zip(
            again, [variant_for("exp", lead, ["a", "b"]) for lead in leads], strict=True
        )
    )
    assert 0.46 < same / len(leads) < 0.54


def test_only_experiments_for_the_stage_apply() -> None:
    playbook = parse_playbook(with_experiments(SUBJECTS))
    assert assignments(playbook, "L1", "awareness") == {}
    assert set(assignments(playbook, "L1", "interest")) == {"subject-question"}


def _request(**style: str) -> DraftRequest:
    asset = CitedAsset(
        asset_id="wp-1",
        title="Time windows in routing",
        kind="whitepaper",
        url="https://example.com/wp",
        summary="A look at time windows.",
        topics=["route optimisation"],
        facts=[],
        passage="",
    )
    return DraftRequest(
        lead_id="L1",
        first_name="Dana",
        company="Northwind",
        email="dana@northwind.example",
        stage="interest",
        action="send_email",
        topic="route optimisation",
        lead_facts=[],
        assets=[asset],
        subject_max_chars=70,
        body_max_words=160,
        unsubscribe_line="Unsubscribe: https://example.com/u",
        style=style,
    )


def test_the_template_drafter_writes_with_the_assigned_variant() -> None:
    drafter = TemplateDrafter()
    plain = drafter.draft(_request()).draft.subject
    question = drafter.draft(_request(subject_style="question")).draft.subject
    assert plain == "A deeper look at route optimisation"
    assert question == "What does route optimisation take?"
    assert drafter.draft(_request(subject_style="topic")).draft.subject == plain


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _sent(db: Database, playbook: Playbook, lead_id: str, variant: str, at: datetime) -> None:
    """A lead whose draft went out in `variant` of subject-question."""
    upsert_leads(db, [{"id": lead_id, "email": f"{lead_id.lower()}@acme.example"}], playbook)
    thread = f"t-{lead_id}"
    record_run(
        db,
        thread_id=thread,
        lead_id=lead_id,
        outcome="awaiting_approval",
        at=at,
        playbook_version=playbook.version,
        detail=None,
    )
    approval = f"{thread}.1"
    open_approval(
        db,
        PendingDraft(
            approval_id=approval,
            thread_id=thread,
            lead_id=lead_id,
            subject="s",
            body="b",
            cited_asset_ids=[],
            lead_facts_used=[],
            drafter="template",
            prompt_version="v",
            playbook_version=playbook.version,
            violations=[],
            decision={},
            created_at=at,
            experiments={"subject-question": variant},
        ),
    )
    with db.session() as session:
        session.add(
            SendRow(
                approval_id=approval,
                lead_id=lead_id,
                message_id=f"<{approval}@x>",
                status="sent",
                to_address=f"{lead_id}@acme.example",
                subject="s",
                body="b",
                attempted_at=at,
                finished_at=at,
            )
        )


def _event(db: Database, playbook: Playbook, lead_id: str, type_: str, at: datetime) -> None:
    report = ingest_events(
        db,
        [
            {
                "id": f"{lead_id}-{type_}-{at.isoformat()}",
                "lead_id": lead_id,
                "type": type_,
                "occurred_at": at.isoformat(),
                "properties": {},
            }
        ],
        playbook,
    )
    assert not report.rejected


def test_results_per_variant_come_from_sends_and_the_events_after_them(db: Database) -> None:
    playbook = parse_playbook(with_experiments(SUBJECTS))
    for i in range(4):
        _sent(db, playbook, f"T{i}", "topic", NOW + timedelta(minutes=i))
        _sent(db, playbook, f"Q{i}", "question", NOW + timedelta(minutes=i))
    later = NOW + timedelta(days=1)
    _event(db, playbook, "Q0", "email_reply", later)
    _event(db, playbook, "Q1", "email_reply", later)
    _event(db, playbook, "Q1", "email_reply", later + timedelta(hours=1))  # one lead, one reply
    _event(db, playbook, "Q2", "email_click", later)
    _event(db, playbook, "T0", "unsubscribe", later)
    _event(db, playbook, "T1", "email_reply", NOW - timedelta(days=3))  # before its send
    [result] = experiment_results(db, playbook)
    topic, question = (v.as_dict() for v in result.variants)
    assert (topic["variant"], topic["sends"], topic["replies"], topic["unsubscribes"]) == (
        "topic",
        4,
        0,
        1,
    )
    assert (question["sends"], question["replies"], question["clicks"]) == (4, 2, 1)
    assert question["reply_rate"] == 0.5 and topic["reply_rate"] == 0.0
    verdict = result.as_dict()["verdict"]
    # 0 of 3 vs 2 of 3 replies: too few for a difference, and the small-count test is used
    assert verdict["status"] == "no_difference"
    assert verdict["test"] == "fisher_exact" and verdict["p_value"] == pytest.approx(0.4, abs=0.01)


def test_before_the_minimum_sends_the_experiment_is_running(db: Database) -> None:
    playbook = parse_playbook(with_experiments(SUBJECTS))
    _sent(db, playbook, "T0", "topic", NOW)
    [result] = experiment_results(db, playbook)
    assert result.verdict.status == "running" and result.verdict.p_value is None


def test_a_winner_becomes_the_default_by_editing_the_playbook() -> None:
    """`drafting:` sets the drafter's parameters for every lead; a running experiment overrides
    them for the leads it assigns."""
    from agent.experiments.assignment import draft_style

    winner = parse_playbook(with_experiments("drafting: {subject_style: question}\n"))
    assert draft_style(winner, "L1", "awareness") == {"subject_style": "question"}
    assert draft_style(parse_playbook(DEFAULT_TEXT), "L1", "interest") == {}
    both = parse_playbook(with_experiments("drafting: {subject_style: question}\n" + SUBJECTS))
    assigned = variant_for("subject-question", "L1", ["topic", "question"])
    assert draft_style(both, "L1", "interest") == {"subject_style": assigned}
    assert draft_style(both, "L1", "awareness") == {"subject_style": "question"}


def test_a_default_the_drafter_does_not_know_is_refused() -> None:
    [problem] = problems(with_experiments("drafting: {opening: shouty}\n"))
    assert "drafting.opening" in problem
