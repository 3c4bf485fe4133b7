"""Sending again: a send that failed safely, or an uncertain one a human resolved. The same
Message-ID every time, audited (who, when, what), and exactly once even when two people press
the button at the same moment (threads racing on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.context import AgentContext, build_context
from agent.nodes.send import message_id_for
from agent.resend import NoSuchSend, ResendRefused, mark_delivered, send_again
from agent.settings import Settings
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.runs import get_run
from agent.store.sends import claim_send, finish_send, get_send, send_history
from agent.tools.email import SmtpSender
from agent.tools.timeline import load_timeline
from tests.test_email_sending import ScriptedSmtpServer
from tests.utils.agent_world import DANA, World, drafted
from tests.utils.smtp import CollectingHandler, free_port
from tests.utils.store_seeds import accepted_draft


def failed_send(world: World) -> str:
    """An approved draft whose send was refused before the server took it (the server was down)."""
    approval_id = drafted(world)
    real = world.agent.ctx.sender
    world.agent.ctx.sender = SmtpSender("127.0.0.1", free_port(), starttls=False, timeout=5)
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "send_failed" and "sending again is safe" in (result.detail or "")
    world.agent.ctx.sender = real
    return approval_id


def uncertain_send(world: World) -> str:
    """An approved draft whose whole message went out but whose verdict never came back."""
    approval_id = drafted(world)
    real = world.agent.ctx.sender
    with ScriptedSmtpServer(after_data=None) as server:
        world.agent.ctx.sender = SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5)
        assert world.agent.answer(approval_id, "accept", by="sam").outcome == "needs_check"
    world.agent.ctx.sender = real
    return approval_id


def test_a_failed_send_goes_out_again_with_the_same_message_id(world: World) -> None:
    approval_id = failed_send(world)
    ctx = world.agent.ctx
    result = send_again(ctx, approval_id, by="dana")
    assert result.outcome == "sent", result
    [message] = world.delivered()
    assert message["Message-ID"] == message_id_for(approval_id)
    assert get_send(ctx.db, approval_id).status == "sent"  # type: ignore[union-attr]
    [action] = send_history(ctx.db, [approval_id])[approval_id]
    assert (action.action, action.by, action.from_status, action.outcome) == (
        "resend",
        "dana",
        "failed",
        "sent",
    )
    assert "nothing was sent" in (action.from_reason or "") and action.at is not None
    thread = approval_id.rsplit(".", 1)[0]
    assert get_run(ctx.db, thread).outcome == "sent"  # type: ignore[union-attr]
    _, events = load_timeline(ctx.db, "L1", until=datetime.now(UTC))
    assert [e.type for e in events].count("email_sent") == 1  # the frequency cap counts it


def test_only_a_failed_send_is_sent_again(world: World) -> None:
    approval_id = failed_send(world)
    ctx = world.agent.ctx
    assert send_again(ctx, approval_id, by="dana").outcome == "sent"
    with pytest.raises(ResendRefused, match="already sent"):
        send_again(ctx, approval_id, by="dana")
    pending = drafted(world, {**DANA, "id": "L2", "email": "lee@fabrikam.example"})
    with pytest.raises(NoSuchSend, match="no send for approval"):
        send_again(ctx, pending, by="dana")
    assert len(world.delivered()) == 1
    assert len(send_history(ctx.db, [approval_id])[approval_id]) == 1


def test_an_unsubscribe_since_the_failure_blocks_the_resend(world: World) -> None:
    approval_id = failed_send(world)
    ctx = world.agent.ctx
    unsubscribe = {
        "id": "unsub",
        "lead_id": "L1",
        "type": "unsubscribe",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    ingest_events(ctx.db, [unsubscribe], ctx.playbook)
    result = send_again(ctx, approval_id, by="dana")
    assert result.outcome == "blocked" and "suppress.unsubscribed" in result.detail
    assert world.delivered() == []
    assert get_send(ctx.db, approval_id).status == "blocked"  # type: ignore[union-attr]


def test_an_uncertain_send_is_never_resent_without_a_human(world: World) -> None:
    approval_id = uncertain_send(world)
    with pytest.raises(ResendRefused, match="sends resolve"):
        send_again(world.agent.ctx, approval_id, by="dana")
    assert world.delivered() == []


def test_a_human_sends_an_uncertain_one_again(world: World) -> None:
    approval_id = uncertain_send(world)
    ctx = world.agent.ctx
    # its own uncertain touch must not hold it back under the frequency cap
    result = send_again(ctx, approval_id, by="dana", resolving=True)
    assert result.outcome == "sent", result
    [message] = world.delivered()
    assert message["Message-ID"] == message_id_for(approval_id)
    [action] = send_history(ctx.db, [approval_id])[approval_id]
    assert (action.action, action.by, action.from_status) == ("send_again", "dana", "needs_check")
    _, events = load_timeline(ctx.db, "L1", until=datetime.now(UTC))
    [touch] = [e for e in events if e.type == "email_sent"]
    assert "uncertain" not in touch.properties


def test_a_human_marks_an_uncertain_one_delivered(world: World) -> None:
    approval_id = uncertain_send(world)
    ctx = world.agent.ctx
    row = mark_delivered(ctx, approval_id, by="dana")
    assert row.status == "sent" and "marked delivered by dana" in (row.reason or "")
    [action] = send_history(ctx.db, [approval_id])[approval_id]
    assert (action.action, action.by, action.from_status, action.outcome) == (
        "delivered",
        "dana",
        "needs_check",
        "sent",
    )
    assert world.delivered() == []
    with pytest.raises(ResendRefused, match="already sent"):
        mark_delivered(ctx, approval_id, by="dana")


# --- two at once: the claim is a conditional UPDATE, so exactly one wins ----------------------


def seed_failed_send(db: Database, ctx: AgentContext) -> str:
    """A failed send written straight into the store (no graph needed to race the resend)."""
    now = datetime.now(UTC)
    approval_id = accepted_draft(
        db, ctx.playbook, DANA, thread_id="L1:race", run_outcome="send_failed", at=now,
        subject="A short read, Dana", body="Hi Dana,\n\nWorth five minutes.\n",
        drafted_at=now - timedelta(minutes=5),
    )  # fmt: skip
    assert claim_send(
        db,
        approval_id=approval_id,
        lead_id="L1",
        message_id=message_id_for(approval_id),
        to_address=DANA["email"],
        subject="A short read, Dana",
        body="Hi Dana,\n\nWorth five minutes.\n",
        at=now,
    )
    finish_send(db, approval_id, status="failed", at=now, reason="server down; nothing was sent")
    return approval_id


def race(ctx: AgentContext, approval_id: str, n: int = 6) -> list[Any]:
    start = threading.Barrier(n)
    outcomes: list[Any] = []

    def one(who: int) -> None:
        start.wait()
        try:
            outcomes.append(send_again(ctx, approval_id, by=f"marketer-{who}").outcome)
        except ResendRefused as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def check_race(ctx: AgentContext, approval_id: str, smtp: CollectingHandler) -> None:
    outcomes = race(ctx, approval_id)
    assert outcomes.count("sent") == 1, outcomes
    assert all(isinstance(o, ResendRefused) for o in outcomes if o != "sent"), outcomes
    assert len(smtp.envelopes) == 1
    assert len(send_history(ctx.db, [approval_id])[approval_id]) == 1


def test_two_resends_at_once_deliver_once_on_sqlite(
    settings: Settings, smtp_server: tuple[CollectingHandler, int]
) -> None:
    ctx = build_context(settings)
    approval_id = seed_failed_send(ctx.db, ctx)
    check_race(ctx, approval_id, smtp_server[0])


@pytest.mark.postgres
def test_two_resends_at_once_deliver_once_on_postgresql(
    postgres_url: str,
    indexed_data: Path,
    smtp_server: tuple[CollectingHandler, int],
    settings: Settings,
) -> None:
    from sqlalchemy import text

    config = settings.model_copy(update={"database_url": postgres_url})
    ctx = build_context(config)
    with ctx.db.engine.begin() as conn:
        conn.execute(text("TRUNCATE leads, runs, approvals, sends CASCADE"))
    approval_id = seed_failed_send(ctx.db, ctx)
    check_race(ctx, approval_id, smtp_server[0])
