"""Approved outside the playbook's send window, an email waits for the next opening and goes
out then, exactly once, with the send-time checks run at that moment; until then it counts as a
touch and as the lead's one draft, and a person can cancel it. On SQLite, the executor that
starts after a restart sends what fell due while no process ran."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.decisions import decide
from agent.jobs.drafts import accept_draft
from agent.jobs.local import LocalExecutor
from agent.nodes.send import blocked_reason, message_id_for, touch_id
from agent.playbook.models import SendWindow
from agent.runner import NurtureAgent
from agent.scheduled_sends import CancelRefused, cancel_send, send_scheduled
from agent.store.ingest import ingest_events
from agent.store.runs import DraftRefused, get_run
from agent.store.sends import get_send, send_history
from agent.tools.timeline import load_timeline
from tests.utils.agent_world import World, drafted


def closed_now(hours_away: float = 1.0) -> tuple[SendWindow, datetime]:
    """A window (every day, one hour, UTC: the test lead has no zone or country) that opens
    `hours_away` from now, and that opening."""
    opening = (datetime.now(UTC) + timedelta(hours=hours_away)).replace(microsecond=0)
    closing = opening + timedelta(hours=1)
    window = SendWindow(
        days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        start=f"{opening:%H:%M:%S}",
        end=f"{closing:%H:%M:%S}",
    )
    return window, opening


def with_window(world: World, window: SendWindow) -> None:
    ctx = world.agent.ctx
    ctx.playbook = ctx.playbook.model_copy(update={"send_window": window})


def at(world: World, moment: datetime) -> None:
    world.agent.ctx.clock = lambda: moment


def scheduled(world: World) -> tuple[str, datetime]:
    """A draft approved while the window is closed: its id and the opening it waits for."""
    approval_id = drafted(world)
    window, opening = closed_now()
    with_window(world, window)
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "scheduled", result
    return approval_id, opening


def test_outside_the_window_the_email_waits_and_goes_out_at_the_opening(world: World) -> None:
    approval_id, opening = scheduled(world)
    ctx = world.agent.ctx
    row = get_send(ctx.db, approval_id)
    assert row is not None and row.status == "scheduled" and row.scheduled_for == opening
    assert row.send_zone == "UTC"
    thread = get_approval_thread(world, approval_id)
    run = get_run(ctx.db, thread)
    assert run is not None and run.outcome == "scheduled"
    assert run.detail == f"scheduled for {opening:%a %H:%M} UTC"
    assert world.delivered() == []

    at(world, opening - timedelta(minutes=10))
    assert send_scheduled(ctx, approval_id).outcome == "not_due"
    assert world.delivered() == []

    at(world, opening + timedelta(seconds=1))
    assert send_scheduled(ctx, approval_id).outcome == "sent"
    [message] = world.delivered()
    assert message["Message-ID"] == message_id_for(approval_id)
    assert get_send(ctx.db, approval_id).status == "sent"  # type: ignore[union-attr]
    assert get_run(ctx.db, thread).outcome == "sent"  # type: ignore[union-attr]
    _, events = load_timeline(ctx.db, "L1", until=opening + timedelta(minutes=1))
    [touch] = [e for e in events if e.type == "email_sent"]
    assert touch.occurred_at == opening + timedelta(seconds=1)  # when it went out
    assert "scheduled_for" not in touch.properties

    assert send_scheduled(ctx, approval_id).outcome == "gone"  # once, however often it runs
    assert len(world.delivered()) == 1


def test_inside_the_window_it_goes_out_at_once(world: World) -> None:
    approval_id = drafted(world)
    window, _ = closed_now(hours_away=-0.5)  # opened half an hour ago, open another half
    with_window(world, window)
    assert world.agent.answer(approval_id, "accept", by="sam").outcome == "sent"
    assert len(world.delivered()) == 1


def test_a_scheduled_send_is_a_touch_and_the_leads_one_draft_until_cancelled(
    world: World,
) -> None:
    approval_id, opening = scheduled(world)
    ctx = world.agent.ctx
    now = datetime.now(UTC)
    lead, events = load_timeline(ctx.db, "L1", until=now, playbook=ctx.playbook)
    held = [e for e in events if e.id == touch_id(approval_id)]
    assert held and held[0].type == "email_sent"
    decision = decide(lead, events, ctx.playbook, now)
    assert "frequency cap" in (blocked_reason(decision, ctx.playbook) or "")  # e.g. min_gap
    with pytest.raises(DraftRefused, match="scheduled"):
        accept_draft(world.agent, "L1")

    cancelled = cancel_send(ctx, approval_id, by="sam")
    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled by sam")
    lead, events = load_timeline(ctx.db, "L1", until=now, playbook=ctx.playbook)
    assert not [e for e in events if e.type == "email_sent"]
    assert decide(lead, events, ctx.playbook, now).action == "send_email"
    accept_draft(world.agent, "L1")  # a new draft may start


def test_a_cancelled_send_never_goes_out(world: World) -> None:
    approval_id, opening = scheduled(world)
    ctx = world.agent.ctx
    cancel_send(ctx, approval_id, by="sam")
    at(world, opening + timedelta(seconds=1))
    assert send_scheduled(ctx, approval_id).outcome == "gone"
    assert world.delivered() == []
    assert get_run(ctx.db, get_approval_thread(world, approval_id)).outcome == "cancelled"  # type: ignore[union-attr]
    [action] = send_history(ctx.db, [approval_id])[approval_id]
    assert (action.action, action.by, action.outcome) == ("cancel", "sam", "cancelled")
    with pytest.raises(CancelRefused, match="only an email waiting"):
        cancel_send(ctx, approval_id, by="sam")


def test_an_unsubscribe_while_it_waits_means_nothing_goes_out(world: World) -> None:
    approval_id, opening = scheduled(world)
    ctx = world.agent.ctx
    unsubscribe = {
        "id": "unsub",
        "lead_id": "L1",
        "type": "unsubscribe",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    ingest_events(ctx.db, [unsubscribe], ctx.playbook)
    at(world, opening + timedelta(seconds=1))
    result = send_scheduled(ctx, approval_id)
    assert result.outcome == "blocked" and "suppress.unsubscribed" in result.detail
    assert world.delivered() == []
    assert get_send(ctx.db, approval_id).status == "blocked"  # type: ignore[union-attr]
    _, events = load_timeline(ctx.db, "L1", until=opening + timedelta(minutes=1))
    assert not [e for e in events if e.type == "email_sent"]  # it never went out


def test_a_job_run_after_the_window_closed_waits_for_the_next_opening(world: World) -> None:
    approval_id, opening = scheduled(world)
    ctx = world.agent.ctx
    at(world, opening + timedelta(hours=2))  # the window closed an hour ago
    result = send_scheduled(ctx, approval_id)
    assert result.outcome == "rescheduled" and result.due == opening + timedelta(days=1)
    assert world.delivered() == []
    assert get_send(ctx.db, approval_id).scheduled_for == result.due  # type: ignore[union-attr]


def test_on_sqlite_the_executor_that_starts_next_sends_what_fell_due(world: World) -> None:
    approval_id, opening = scheduled(world)  # approved by the CLI: no executor was running
    world.agent.ctx.db.dispose()  # the process is gone; the store keeps the schedule
    later = opening + timedelta(minutes=5)
    with open_checkpointer(world.settings) as checkpointer:
        ctx = build_context(world.settings, clock=lambda: later)
        ctx.playbook = world.agent.ctx.playbook  # the same playbook, with its window
        executor = LocalExecutor(NurtureAgent(ctx, checkpointer), world.settings)
        executor.start()
        try:
            deadline = time.monotonic() + 30
            while not world.delivered() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            executor.stop()
        assert len(world.delivered()) == 1
        assert get_send(ctx.db, approval_id).status == "sent"  # type: ignore[union-attr]


def get_approval_thread(world: World, approval_id: str) -> str:
    from agent.store.approvals import get_approval

    return get_approval(world.agent.ctx.db, approval_id).thread_id


def test_people_read_the_time_in_the_leads_zone() -> None:
    from agent.send_windows import scheduled_detail

    moment = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    assert (
        scheduled_detail(moment, ZoneInfo("Europe/Berlin"))
        == "scheduled for Tue 09:00 Europe/Berlin"
    )


def test_a_run_stopped_right_after_scheduling_holds_the_touch_once_recovered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.nodes.send as send_node

    approval_id = drafted(world)
    window, opening = closed_now()
    with_window(world, window)
    real = send_node.record_touch

    def killed(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process was killed here")

    monkeypatch.setattr(send_node, "record_touch", killed)
    with pytest.raises(RuntimeError, match="killed"):
        world.agent.answer(approval_id, "accept", by="sam")
    monkeypatch.setattr(send_node, "record_touch", real)

    result = world.agent.recover(get_approval_thread(world, approval_id))
    assert (
        result.outcome == "scheduled" and result.detail == f"scheduled for {opening:%a %H:%M} UTC"
    )
    ctx = world.agent.ctx
    _, events = load_timeline(ctx.db, "L1", until=datetime.now(UTC))
    [touch] = [e for e in events if e.id == touch_id(approval_id)]
    assert touch.properties["scheduled_for"] == opening.isoformat()
