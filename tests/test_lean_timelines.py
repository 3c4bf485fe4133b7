"""Decisions are explained (one contribution per scored event) only when asked: `next` for a
person explains, the bulk paths (run selection, the staleness of waiting drafts, re-deciding)
never build an explanation, and the decision is the same either way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import agent.scoring
from agent.decisions import decide
from agent.demo.generator import generate
from agent.jobs.due import due_leads
from agent.playbook import Playbook
from agent.staleness import stale_reasons
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.store.schema import ApprovalRow
from agent.timeline import Timeline
from agent.tools.timeline import load_timeline


@pytest.fixture
def demo_db(tmp_path: Path, playbook: Playbook) -> tuple[Database, datetime]:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    now = datetime.now(UTC)
    leads, events = generate(seed=11, now=now, count=60)
    upsert_leads(db, leads, playbook)
    ingest_events(db, events, playbook, now=now)
    return db, now


@pytest.fixture
def explanations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Lead-less record of every explanation built: one entry per call of the builder."""
    built: list[str] = []
    real = agent.scoring.behaviour_contributions

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append("explained")
        return real(*args, **kwargs)

    monkeypatch.setattr(agent.scoring, "behaviour_contributions", counting)
    return built


def test_the_decision_is_the_same_with_or_without_its_explanation(
    demo_db: tuple[Database, datetime], playbook: Playbook
) -> None:
    db, now = demo_db
    scored = 0
    for lead_id in all_lead_ids(db):
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
        explained = decide(lead, events, playbook, now)
        lean = decide(lead, events, playbook, now, explain=False)
        assert lean.score.contributions is None
        assert explained.score.contributions is not None
        scored += bool(explained.score.contributions)
        # every field, the score's sums included, is the same to the last bit
        assert lean.model_dump(exclude={"score": {"contributions"}}) == explained.model_dump(
            exclude={"score": {"contributions"}}
        )
    assert scored > 30  # most demo leads have scored events: the comparison means something


def test_run_selection_and_draft_staleness_build_no_explanation(
    demo_db: tuple[Database, datetime], playbook: Playbook, explanations: list[str]
) -> None:
    db, now = demo_db
    due = due_leads(db, playbook, now=now)
    assert due  # the demo has leads to email: leads were decided
    drafts = [
        ApprovalRow(id=f"a-{lead_id}", lead_id=lead_id, status="pending", decision={})
        for lead_id in all_lead_ids(db)
    ]
    stale = stale_reasons(db, playbook, {}, drafts, now)
    assert stale  # leads that should not be emailed: their drafts are stale
    assert explanations == []
    # the counter counts: a decision for a person is explained
    lead, events = load_timeline(db, due[0], until=now, playbook=playbook)
    decide(lead, events, playbook, now)
    assert explanations == ["explained"]


def test_the_lean_timeline_read_gives_the_same_decisions(db: Database, playbook: Playbook) -> None:
    """load_signals reads only what deciding needs (no lead id per row, no event the playbook
    already classified as no signal, in the timeline's order): every decision is the same as
    from the full read, on SQLite and PostgreSQL, ties in time and stale derivations included."""
    from agent.tools.timeline import load_signals

    now = datetime.now(UTC)
    leads, events = generate(seed=5, now=now, count=40)
    tied = now.replace(microsecond=0).isoformat()
    lead_id = leads[0]["id"]
    # three events at one moment, with ids whose order differs between collations
    events += [
        {
            "id": f"tie-{suffix}",
            "lead_id": lead_id,
            "type": "pricing_page_view",
            "occurred_at": tied,
        }
        for suffix in ("b", "A", "a_")
    ]
    upsert_leads(db, leads, playbook)
    ingest_events(db, events, playbook, now=now)
    with db.engine.begin() as conn:  # some rows derived by another playbook: classified again
        conn.execute(
            text("UPDATE events SET derived_by = 'older', signal = NULL WHERE id LIKE '%5'")
        )
    for lead_id in all_lead_ids(db):
        lead, full = load_timeline(db, lead_id, until=now, playbook=playbook)
        same_lead, timeline = load_signals(db, lead_id, until=now, playbook=playbook)
        assert same_lead == lead
        assert timeline.events == Timeline(full, playbook, now).events
        assert decide(lead, timeline, playbook, now) == decide(lead, full, playbook, now)
