"""Decision history: every change of a lead's stage, action or hot flag is kept (lead, at, from,
to, playbook version, rule), written with the latest decision in the same transaction; a
decision that changes nothing, or arrives after a newer one, adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.decisions import Decision, decide
from agent.demo.generator import generate
from agent.demo.history import replay_history
from agent.playbook import Playbook
from agent.store import Database
from agent.store.decision_history import lead_history
from agent.store.decisions import latest_decision, record_decisions
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.timeline import Lead
from agent.tools.timeline import load_timeline

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def a_decision(playbook: Playbook, at: datetime) -> Decision:
    lead = Lead(id="L1", email="dana@northwind.example", company="Northwind")
    return decide(lead, [], playbook, at)


def changed(decision: Decision, **fields: object) -> Decision:
    """The same decision with another stage/action, or hot flag (`hot=`)."""
    hot = fields.pop("hot", None)
    out = decision.model_copy(update=fields)
    if hot is not None:
        out = out.model_copy(update={"score": decision.score.model_copy(update={"hot": hot})})
    return out


def test_the_first_decision_and_each_change_are_kept_in_order(
    db: Database, playbook: Playbook
) -> None:
    upsert_leads(db, [{"id": "L1", "email": "dana@northwind.example"}], playbook)
    first = a_decision(playbook, NOW)
    record_decisions(db, [(first, "v1")])
    record_decisions(db, [(a_decision(playbook, NOW + timedelta(hours=1)), "v1")])  # same answer
    later = changed(
        a_decision(playbook, NOW + timedelta(days=1)),
        stage="consideration",
        action="handoff_to_sales",
        hot=True,
    )
    record_decisions(db, [(later, "v2")])

    history = lead_history(db, "L1")
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (None, first.stage),
        (first.stage, "consideration"),
    ]
    assert [(h.from_action, h.to_action) for h in history] == [
        (None, first.action),
        (first.action, "handoff_to_sales"),
    ]
    assert [(h.from_hot, h.to_hot) for h in history] == [(None, False), (False, True)]
    assert [h.at for h in history] == [NOW, NOW + timedelta(days=1)]
    assert [h.playbook_version for h in history] == ["v1", "v2"]
    assert history[0].rule == first.reasons[0].rule
    assert history[1].stage_rule == first.reasons[1].rule


def test_a_decision_older_than_the_recorded_one_changes_neither_table(
    db: Database, playbook: Playbook
) -> None:
    upsert_leads(db, [{"id": "L1", "email": "dana@northwind.example"}], playbook)
    newer = a_decision(playbook, NOW)
    record_decisions(db, [(newer, "v1")])
    older = changed(a_decision(playbook, NOW - timedelta(hours=1)), action="suppress")
    record_decisions(db, [(older, "v1")])

    assert len(lead_history(db, "L1")) == 1
    stored = latest_decision(db, "L1")
    assert stored is not None and stored.action == newer.action


def test_several_decisions_of_one_lead_in_one_batch_are_each_compared_with_the_one_before(
    db: Database, playbook: Playbook
) -> None:
    upsert_leads(db, [{"id": "L1", "email": "dana@northwind.example"}], playbook)
    base = a_decision(playbook, NOW)
    hot = changed(a_decision(playbook, NOW + timedelta(days=1)), hot=True)
    cooled = a_decision(playbook, NOW + timedelta(days=2))
    # out of order on purpose: each is compared with the one just before it in time
    record_decisions(db, [(cooled, "v1"), (base, "v1"), (hot, "v1")])

    history = lead_history(db, "L1")
    assert [(h.from_hot, h.to_hot) for h in history] == [
        (None, False),
        (False, True),
        (True, False),
    ]
    stored = latest_decision(db, "L1")
    assert stored is not None and stored.decided_at == NOW + timedelta(days=2)


def test_the_demo_replay_leaves_a_history_that_ends_at_each_leads_latest_decision(
    db: Database, playbook: Playbook
) -> None:
    leads, events = generate(seed=7, now=NOW, count=40)
    upsert_leads(db, leads, playbook)
    ingest_events(db, events, playbook, now=NOW)
    replay_history(db, playbook, [row["id"] for row in leads], NOW)

    moved = 0
    for row in leads:
        history = lead_history(db, row["id"])
        lead, timeline = load_timeline(db, row["id"], until=NOW, playbook=playbook)
        now = decide(lead, timeline, playbook, NOW)
        assert history, row["id"]
        assert history[0].from_stage is None and history[0].at == NOW - timedelta(days=180)
        for before, after in zip(history, history[1:], strict=False):
            # each change starts where the one before ended, and really changes something
            assert (after.from_stage, after.from_action, after.from_hot) == (
                before.to_stage,
                before.to_action,
                before.to_hot,
            )
            assert (after.from_stage, after.from_action, after.from_hot) != (
                after.to_stage,
                after.to_action,
                after.to_hot,
            )
        last = history[-1]
        assert (last.to_stage, last.to_action, last.to_hot) == (
            now.stage,
            now.action,
            now.score.hot,
        )
        stored = latest_decision(db, row["id"])
        assert stored is not None and stored.decided_at == NOW and stored.action == now.action
        moved += len(history) > 1
    assert moved >= len(leads) // 2, "most demo leads moved at least once in six months"
