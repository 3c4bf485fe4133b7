"""Properties that must hold for any timeline, not just the examples in test_rules.py."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.playbook import Playbook, load_playbook
from agent.scoring import decay_factor
from agent.settings import DEFAULT_PLAYBOOK
from agent.timeline import Event
from tests.utils.timelines import NOW, decide_now, lead

PLAYBOOK: Playbook = load_playbook(DEFAULT_PLAYBOOK)
SIGNALS = sorted(PLAYBOOK.signals) + ["page_view"]

properties = st.fixed_dictionaries(
    {},
    optional={
        "topic": st.sampled_from(["routing", "billing", "forecasting"]),
        "asset_id": st.sampled_from(["a1", "a2", "a3"]),
        "asset_kind": st.sampled_from(["pricing", "proposal", "case_study", "security"]),
        "seconds": st.integers(0, 600),
        "viewer": st.sampled_from(["v1", "v2", "v3"]),
        "completion": st.floats(0, 1),
        "hard": st.booleans(),
        "path": st.sampled_from(["/pricing", "/blog/x", "/about", "/compare/acme"]),
    },
)
events = st.lists(
    st.builds(
        lambda i, t, minutes, props: Event(
            f"e{i}", "L1", t, NOW - timedelta(minutes=minutes), props
        ),
        st.integers(0, 10_000),
        st.sampled_from(SIGNALS),
        st.integers(0, 200 * 24 * 60),
        properties,
    ),
    max_size=40,
    unique_by=lambda e: e.id,
)


@given(age=st.floats(0, 3650), later=st.floats(0, 3650), half_life=st.floats(0.5, 365))
def test_decay_only_lowers_a_contribution_as_time_passes(
    age: float, later: float, half_life: float
) -> None:
    assert 0 < decay_factor(age, half_life) <= 1 or decay_factor(age, half_life) == 0
    assert decay_factor(age + later, half_life) <= decay_factor(age, half_life)


@settings(max_examples=60, deadline=None)
@given(timeline=events, days=st.floats(0.01, 400))
def test_every_contribution_shrinks_as_now_moves_on(timeline: list[Event], days: float) -> None:
    before = {c.event_id: c.value for c in decide_now(PLAYBOOK, timeline).score.contributions or []}
    after = decide_now(PLAYBOOK, timeline, now=NOW + timedelta(days=days)).score.contributions or []
    for c in after:
        assert c.value <= before[c.event_id]


@settings(max_examples=60, deadline=None)
@given(timeline=events, data=st.data())
def test_duplicate_event_ids_count_once(timeline: list[Event], data: st.DataObject) -> None:
    copies = data.draw(st.lists(st.sampled_from(timeline), max_size=10)) if timeline else []
    assert decide_now(PLAYBOOK, timeline + copies) == decide_now(PLAYBOOK, timeline)


@settings(max_examples=60, deadline=None)
@given(timeline=events, seed=st.integers())
def test_event_order_changes_nothing(timeline: list[Event], seed: int) -> None:
    shuffled = list(timeline)
    random.Random(seed).shuffle(shuffled)
    fit = lead(industry="software", employees=200, title="Head of Operations")
    assert decide_now(PLAYBOOK, shuffled, fit) == decide_now(PLAYBOOK, timeline, fit)
