"""The agent end to end: decide → retrieve → draft → check → human review → send, against a
real SMTP server on 127.0.0.1, with SQLite checkpoints that outlive the process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.errors import NurtureError
from agent.nodes.send import message_id_for
from agent.runner import NurtureAgent
from agent.settings import Settings
from agent.store.approvals import get_approval, pending
from agent.store.ingest import ingest_events
from agent.store.sends import get_send
from agent.tools.timeline import load_timeline
from agent.unsubscribe import unsubscribe_links
from tests.utils.agent_world import DANA, World, drafted
from tests.utils.smtp import CollectingHandler

ROOT = Path(__file__).parent.parent


def test_a_draft_waits_for_approval_and_nothing_is_sent(world: World) -> None:
    approval_id = drafted(world)
    row = get_approval(world.agent.ctx.db, approval_id)
    assert row.status == "pending" and row.drafter == "template"
    assert row.prompt_version == "template-v4"
    assert row.decision["reasons"][0]["rule"] == "scenario.whitepaper_case_study"
    assert row.cited_asset_ids and row.cited_asset_ids[0].startswith("cs-")
    assert row.violations == []
    # the service's own signed link (tests/test_unsubscribe_links.py), never the bare lead id
    assert "Not useful? Unsubscribe: http://127.0.0.1:8000/unsubscribe/" in row.body
    assert "?lead=L1" not in row.body
    assert [r.id for r in pending(world.agent.ctx.db)] == [approval_id]
    assert world.delivered() == []


def test_the_interrupt_follows_the_agent_inbox_schema(world: World) -> None:
    approval_id = drafted(world)
    thread = get_approval(world.agent.ctx.db, approval_id).thread_id
    [waiting] = world.agent.graph.get_state({"configurable": {"thread_id": thread}}).interrupts
    [request] = waiting.value
    assert request["action_request"]["action"] == "send_email"
    assert set(request["action_request"]["args"]) == {"approval_id", "subject", "body"}
    assert request["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_respond": True,
        "allow_ignore": True,
    }
    description = request["description"]
    assert "scenario.whitepaper_case_study" in description and "**Stage:** interest" in description
    assert "Cited content" in description and "template" in description


def test_accept_sends_a_proper_message_once(world: World) -> None:
    approval_id = drafted(world)
    result = world.agent.answer(approval_id, "accept", by="marketer@routewise")
    assert result.outcome == "sent"
    [message] = world.delivered()
    row = get_approval(world.agent.ctx.db, approval_id)
    assert message["To"] == "Dana Reyes <dana@northwind.example>"
    assert message["Subject"] == row.subject
    assert message["Message-ID"] == message_id_for(approval_id)
    assert message_id_for(approval_id).startswith(f"<{approval_id.replace(':', '.')}.")
    link = message["List-Unsubscribe"].strip("<>")
    links = unsubscribe_links(world.settings, world.agent.ctx.db)
    assert links.lead_for(link.rsplit("/", 1)[1]) == "L1"
    text = message.get_body(("plain",)).get_content()
    assert "Hi Dana," in text and "Unsubscribe" in text
    assert row.decided_by == "marketer@routewise" and row.status == "accepted"
    assert get_send(world.agent.ctx.db, approval_id).status == "sent"  # type: ignore[union-attr]
    _, events = load_timeline(world.agent.ctx.db, "L1", until=datetime.now(UTC))
    touch = [e for e in events if e.type == "email_sent"]
    assert touch and touch[0].properties["asset"] == row.cited_asset_ids[0]
    with pytest.raises(Exception, match="already decided"):
        world.agent.answer(approval_id, "accept", by="someone else")
    assert len(world.delivered()) == 1


def test_edit_sends_the_edited_text(world: World) -> None:
    approval_id = drafted(world)
    row = get_approval(world.agent.ctx.db, approval_id)
    body = (
        "Hi Dana,\n\nThe Northwind Freight story is worth five minutes.\n"
        f"{row.body.splitlines()[-1]}\n"
    )
    result = world.agent.answer(
        approval_id, "edit", by="sam", subject="A short read, Dana", body=body
    )
    assert result.outcome == "sent"
    [message] = world.delivered()
    assert message["Subject"] == "A short read, Dana"
    assert (
        "The Northwind Freight story is worth five minutes."
        in message.get_body(("plain",)).get_content()
    )
    row = get_approval(world.agent.ctx.db, approval_id)
    assert (row.status, row.final_subject, row.decided_by) == (
        "edited",
        "A short read, Dana",
        "sam",
    )


def test_an_edit_that_breaks_a_guardrail_goes_back_flagged(world: World) -> None:
    approval_id = drafted(world)
    row = get_approval(world.agent.ctx.db, approval_id)
    body = f"Hi Dana, our pricing is 50% off this week.\n{row.body.splitlines()[-1]}\n"
    result = world.agent.answer(approval_id, "edit", by="sam", subject="Deal", body=body)
    assert result.outcome == "awaiting_approval" and result.approval_id != approval_id
    flagged = get_approval(world.agent.ctx.db, result.approval_id or "")
    rules = {v["rule"] for v in flagged.violations}
    assert {"guardrail.stage_terms", "guardrail.grounding"} <= rules
    assert world.delivered() == []


def test_respond_writes_a_new_draft(world: World) -> None:
    approval_id = drafted(world)
    result = world.agent.answer(approval_id, "respond", by="sam", feedback="Shorter, please.")
    assert result.outcome == "awaiting_approval"
    assert result.approval_id == approval_id[:-1] + "2"
    old = get_approval(world.agent.ctx.db, approval_id)
    assert (old.status, old.feedback) == ("responded", "Shorter, please.")
    assert [r.id for r in pending(world.agent.ctx.db)] == [result.approval_id]
    assert world.delivered() == []


@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_an_answer_the_store_cannot_keep_is_refused_and_the_draft_waits(
    world: World, bad: str
) -> None:
    """Whatever client answers (CLI edit file, page, API), NUL and lone surrogates are refused
    where answers are recorded: PostgreSQL refuses NUL, and neither could be read back."""
    approval_id = drafted(world)
    for answer, fields in (
        ("respond", {"feedback": f"Shorter{bad}"}),
        ("edit", {"subject": "Hello", "body": f"Hi Dana,{bad}\n"}),
        ("edit", {"subject": f"Hello{bad}", "body": "Hi Dana,\n"}),
    ):
        with pytest.raises(NurtureError, match="NUL|surrogate"):
            world.agent.answer(approval_id, answer, by="sam", **fields)  # type: ignore[arg-type]
        assert get_approval(world.agent.ctx.db, approval_id).status == "pending"
    assert world.delivered() == []


def test_ignore_discards(world: World) -> None:
    approval_id = drafted(world)
    result = world.agent.answer(approval_id, "ignore", by="sam")
    assert result.outcome == "discarded"
    assert pending(world.agent.ctx.db) == [] and world.delivered() == []


def test_an_unsubscribe_after_approval_wins(world: World) -> None:
    approval_id = drafted(world)
    ingest_events(
        world.agent.ctx.db,
        [
            {
                "id": "unsub",
                "lead_id": "L1",
                "type": "unsubscribe",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
        ],
        world.agent.ctx.playbook,
    )
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "blocked"
    assert "suppress.unsubscribed" in (result.detail or "")
    assert world.delivered() == []
    assert get_send(world.agent.ctx.db, approval_id).status == "blocked"  # type: ignore[union-attr]


def test_the_frequency_cap_is_checked_again_at_send_time(world: World) -> None:
    waiting = drafted(world)
    # an email reached the lead while the draft waited (one draft per lead is in the inbox at
    # a time, so the other email came another way: a resend, the CRM)
    touch = {"id": "other-send", "lead_id": "L1", "type": "email_sent"}
    at = datetime.now(UTC).isoformat()
    report = ingest_events(
        world.agent.ctx.db, [{**touch, "occurred_at": at}], world.agent.ctx.playbook
    )
    assert not report.rejected
    result = world.agent.answer(waiting, "accept", by="sam")
    assert result.outcome == "blocked" and "wait.min_gap" in (result.detail or "")
    assert world.delivered() == []


def test_a_crash_after_the_smtp_server_accepted_is_never_resent(world: World) -> None:
    approval_id = drafted(world)

    def crash(_approval_id: str) -> None:
        raise RuntimeError("process killed between SMTP accept and the record")

    world.agent.ctx.after_send = crash
    with pytest.raises(RuntimeError, match="process killed"):
        world.agent.answer(approval_id, "accept", by="sam")
    assert len(world.delivered()) == 1
    world.agent.ctx.after_send = lambda _approval_id: None
    thread = get_approval(world.agent.ctx.db, approval_id).thread_id
    result = world.agent.recover(thread)
    assert result.outcome == "needs_check"
    assert world.agent.recover(thread).outcome == "needs_check"
    assert len(world.delivered()) == 1
    assert get_send(world.agent.ctx.db, approval_id).status == "needs_check"  # type: ignore[union-attr]
    # a message that may have gone out counts against the frequency cap
    assert world.agent.start("L1").outcome == "waiting"


def test_approve_from_a_new_process_after_a_restart(world: World, settings: Settings) -> None:
    approval_id = drafted(world)
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(settings.data_dir),
        "NURTURE_DATABASE_URL": settings.resolved_database_url,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(settings.smtp_port),
        "NURTURE_SMTP_STARTTLS": "false",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cli import main; main()",
            "approve",
            approval_id,
            "--by",
            "dana",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "L1: sent" in done.stdout
    assert len(world.delivered()) == 1


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ([("unsubscribe", 2, {})], "suppressed"),
        ([("handoff", 2, {})], "with_sales"),
        ([("whitepaper_download", 1, {"topic": "route optimisation"})], "waiting"),
    ],
)
def test_no_draft_when_the_playbook_says_no(world: World, events: list, outcome: str) -> None:
    world.seed(DANA, events)
    result = world.agent.start("L1")
    assert result.outcome == outcome and result.approval_id is None
    assert pending(world.agent.ctx.db) == [] and world.delivered() == []


@pytest.mark.postgres
def test_the_agent_on_postgresql(
    postgres_url: str, indexed_data: Path, smtp_server: tuple[CollectingHandler, int]
) -> None:
    """Store and LangGraph checkpoints both on PostgreSQL; approve from a second agent."""
    from sqlalchemy import text

    config = Settings(
        data_dir=indexed_data,
        database_url=postgres_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server[1],
        smtp_starttls=False,
    )
    ctx = build_context(config)
    with ctx.db.engine.begin() as conn:
        conn.execute(
            text("TRUNCATE leads, events, lead_scores, runs, approvals, sends, handoffs CASCADE")
        )
    with open_checkpointer(config) as checkpointer:
        world = World(NurtureAgent(ctx, checkpointer), smtp_server[0], config)
        approval_id = drafted(world)
    with open_checkpointer(config) as checkpointer:  # a new process' view of the same thread
        again = NurtureAgent(build_context(config), checkpointer)
        assert again.answer(approval_id, "accept", by="sam").outcome == "sent"
    assert len(smtp_server[0].envelopes) == 1


def test_the_studio_graph_builds_its_context_from_settings(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """langgraph.json's graph gets no context from LangGraph Studio: it builds one lazily."""
    from agent import context as agent_context
    from agent import graph as studio

    world.seed(DANA, [("unsubscribe", 1, {})])
    monkeypatch.setenv("NURTURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NURTURE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setattr(agent_context, "_default", None)
    state = studio.graph.invoke({"lead_id": "L1"}, {"configurable": {"thread_id": "studio-1"}})
    assert state["outcome"] == "suppressed"
    assert state["detail"].startswith("suppress.unsubscribed")


def test_the_template_claims_no_reading_the_lead_did_not_do(world: World) -> None:
    """A lead with no topic of its own (a new lead, opens only) is not told "since you have been
    reading about X": the opener speaks to the company about the asset's topic instead."""
    world.seed({**DANA, "id": "L-new"}, [])
    result = world.agent.start("L-new")
    assert result.outcome == "awaiting_approval", result
    body = get_approval(world.agent.ctx.db, result.approval_id or "").body
    assert "reading about" not in body and "Northwind Freight" in body
