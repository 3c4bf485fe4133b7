"""A hand-off recycled back to nurture: the default playbook no longer keeps the lead with
sales, and does not hand it off again on the signals it was handed off for; a buying signal
after the recycle hands it off again. Both as the pure decision and through the real agent
(a rep recycles over the desk, the next run nurtures)."""

from __future__ import annotations

import pytest

from agent.handoff_desk import Actor, ReasonRequired, act
from agent.playbook import Playbook
from agent.playbook.loader import PlaybookError, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store.handoffs import get_handoff
from tests.utils import timelines
from tests.utils.agent_world import World
from tests.utils.handoffs import hand_off, lead, make_rep
from tests.utils.timelines import decide_now, ev, rules_of

HOT_FIT = {"industry": "Software", "employees": 400, "title": "VP Operations"}


def test_a_recycled_lead_is_nurtured_not_handed_off_again(playbook: Playbook) -> None:
    d = decide_now(
        playbook, [ev("demo_request", 5), ev("handoff", 4), ev("handoff_recycled", 1, reason="x")]
    )
    assert d.action not in ("with_sales", "handoff_to_sales"), rules_of(d)


def test_a_hot_recycled_lead_waits_for_a_new_buying_signal(playbook: Playbook) -> None:
    hot = [ev("demo_request", 3), ev("pricing_page_view", 3), ev("roi_calculator_used", 3)]
    before = [*hot, ev("handoff", 2.5), ev("handoff_recycled", 2, reason="not now")]
    d = decide_now(playbook, before, timelines.lead(**HOT_FIT))
    assert d.score.hot and d.action not in ("with_sales", "handoff_to_sales"), rules_of(d)
    noise = decide_now(playbook, [*before, ev("blog_view", 1)], timelines.lead(**HOT_FIT))
    assert noise.action not in ("with_sales", "handoff_to_sales"), rules_of(noise)
    again = decide_now(playbook, [*before, ev("pricing_page_view", 1)], timelines.lead(**HOT_FIT))
    assert (again.action, rules_of(again)[0]) == ("handoff_to_sales", "handoff.hot")


def test_a_demo_request_after_the_recycle_hands_off_again(playbook: Playbook) -> None:
    d = decide_now(
        playbook,
        [ev("demo_request", 9), ev("handoff", 8), ev("handoff_recycled", 3), ev("demo_request", 1)],
    )
    assert (d.action, rules_of(d)[0]) == ("handoff_to_sales", "handoff.demo_request")
    # the evidence is the new request, not the old one
    assert "evidence: demo_request" in d.reasons[0].text


def test_a_reset_naming_an_unknown_signal_is_a_playbook_error() -> None:
    text = DEFAULT_PLAYBOOK.read_text()
    assert "reset: {by: [handoff_recycled]" in text
    broken = text.replace("reset: {by: [handoff_recycled]", "reset: {by: [recycled_typo]", 1)
    with pytest.raises(PlaybookError, match=r"reset\.by.*unknown signal 'recycled_typo'"):
        parse_playbook(broken)


def test_a_rep_recycles_and_the_agent_nurtures_the_lead(world: World) -> None:
    ctx = world.agent.ctx
    rep = make_rep(ctx.db, "riley", "riley@routewise.example")
    row = hand_off(world, lead(1))
    actor = Actor(rep.name, "rep", rep.key_id)
    with pytest.raises(ReasonRequired):
        act(ctx, row.id, "recycle", actor=actor, reason="  ")
    act(ctx, row.id, "recycle", actor=actor, reason="Wants to talk in Q3")
    assert get_handoff(ctx.db, row.id).state == "recycled"  # type: ignore[union-attr]
    after = world.agent.start("L1")
    assert after.outcome != "handed_off", after
    assert "with_sales" not in (after.detail or ""), after
