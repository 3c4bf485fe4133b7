"""`nurture run` picks the leads to draft for from the recorded decisions and the leads never
decided, decides only those again, and stops deciding once --limit leads are due: the same
leads as deciding every lead, at a cost that follows the limit (counted, not timed)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

import agent.decisions
from agent.account_handoff import apply_account
from agent.decisions import Decision, decide
from agent.demo.generator import generate
from agent.playbook import Playbook, load_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.staleness import SENDING_ACTIONS
from agent.store import Database
from agent.store.account_context import load_account_context
from agent.store.decisions import draft_candidates, record_decisions
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.store.schema import LeadDecisionRow
from agent.tools.timeline import load_timeline
from tests.test_cli import run
from tests.utils.smtp import CollectingHandler


def seed_demo(db: Database, playbook: Playbook, now: datetime) -> None:
    leads, events = generate(seed=7, now=now, count=60)
    upsert_leads(db, leads, playbook)
    ingest_events(db, events, playbook, now=now)


def decide_every_lead(db: Database, playbook: Playbook, now: datetime) -> list[Decision]:
    """Every lead decided, in id order, each with its account (accounts.handoff: the account's
    best contact by these scores goes to sales, the others' nurture is held)."""
    decided = []
    for lead_id in all_lead_ids(db):
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
        decided.append((lead, decide(lead, events, playbook, now)))
    scores = {lead.id: decision.score.total for lead, decision in decided}
    return [
        apply_account(decision, load_account_context(db, lead, playbook, now, scores=scores))
        for lead, decision in decided
    ]


def due_by_deciding_every_lead(db: Database, playbook: Playbook, now: datetime) -> list[str]:
    """The rule before: decide every lead, in id order, keep the ones to email."""
    return [d.lead_id for d in decide_every_lead(db, playbook, now) if d.action in SENDING_ACTIONS]


def record_every_decision(db: Database, playbook: Playbook, now: datetime) -> None:
    record_decisions(db, [(d, playbook.version) for d in decide_every_lead(db, playbook, now)])


@pytest.fixture
def counted_decisions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Lead ids, once for every decision made (every decision scores its lead once)."""
    decided: list[str] = []
    real: Callable[..., Any] = agent.decisions.score_lead  # type: ignore[attr-defined]

    def counting(lead: Any, *args: Any, **kwargs: Any) -> Any:
        decided.append(lead.id)
        return real(lead, *args, **kwargs)

    monkeypatch.setattr(agent.decisions, "score_lead", counting)
    return decided


def test_the_same_leads_are_due_as_when_every_lead_is_decided(
    tmp_path: Path, playbook: Playbook, counted_decisions: list[str]
) -> None:
    from agent.jobs.due import due_leads

    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    now = datetime.now(UTC)
    seed_demo(db, playbook, now)
    expected = due_by_deciding_every_lead(db, playbook, now)
    assert 10 < len(expected) < 60  # the demo has leads of both kinds

    counted_decisions.clear()
    assert due_leads(db, playbook, now=now) == expected  # nothing recorded: all are candidates
    assert len(counted_decisions) == 60
    counted_decisions.clear()
    assert due_leads(db, playbook, now=now) == expected  # from the decisions it recorded
    assert sorted(counted_decisions) == expected  # only the candidates were decided again
    counted_decisions.clear()
    assert due_leads(db, playbook, now=now, limit=5, skip=expected[:2]) == expected[2:7]
    assert counted_decisions == expected[2:7]


def test_a_recorded_decision_that_may_no_longer_hold_is_a_candidate(
    tmp_path: Path, playbook: Playbook
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    now = datetime.now(UTC)
    seed_demo(db, playbook, now)
    record_every_decision(db, playbook, now)
    due = due_by_deciding_every_lead(db, playbook, now)
    quiet = [lead_id for lead_id in all_lead_ids(db) if lead_id not in due]
    ended_wait, other_playbook, event_since, untouched = quiet[:4]
    changes: dict[str, dict[str, object]] = {
        ended_wait: {"wait_until": now - timedelta(minutes=1)},
        other_playbook: {"playbook_version": "an older one"},
        event_since: {"decided_at": now - timedelta(days=400)},  # before its events arrived
    }
    with db.session() as session:
        for lead_id, values in changes.items():
            session.execute(
                update(LeadDecisionRow).where(LeadDecisionRow.lead_id == lead_id).values(**values)
            )
    candidates = draft_candidates(
        db, actions=SENDING_ACTIONS, now=now, playbook_version=playbook.version
    )
    assert set(due) | {ended_wait, other_playbook, event_since} == set(candidates)
    assert untouched not in candidates


@pytest.fixture
def demo_cli_env(
    indexed_data: Path,
    tmp_path: Path,
    smtp_server: tuple[CollectingHandler, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI on the demo leads, with each lead's decision recorded (as the service keeps it)."""
    url = f"sqlite:///{tmp_path / 'n.db'}"
    monkeypatch.setenv("NURTURE_DATA_DIR", str(indexed_data))
    monkeypatch.setenv("NURTURE_DATABASE_URL", url)
    monkeypatch.setenv("NURTURE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NURTURE_SMTP_PORT", str(smtp_server[1]))
    db = Database(url)
    db.migrate()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(UTC)
    seed_demo(db, playbook, now)
    record_every_decision(db, playbook, now)
    db.dispose()


def test_run_with_a_limit_decides_about_that_many_leads(
    demo_cli_env: None,
    counted_decisions: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(monkeypatch, capsys, "run", "--limit", "3")
    assert code == 0, err
    # three leads acted on: drafts, and hand-offs for the hot ones among them
    assert "3 leads" in out
    drafts = re.search(r"(\d) drafts? written by the offline template drafter", out)
    handed = re.search(r"handed_off\s*│\s*(\d)", out)
    assert drafts and int(drafts[1]) + (int(handed[1]) if handed else 0) == 3, out
    # three to choose them, and the agent decides each once more as it drafts
    assert len(counted_decisions) == 6, counted_decisions
