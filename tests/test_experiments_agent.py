"""Through the agent: a lead in a subject-style experiment gets a draft written in its assigned
variant; the approval records the variant, and the email that reaches the SMTP server carries
the subject that variant writes."""

from __future__ import annotations

from agent.experiments.assignment import variant_for
from agent.playbook.models import Experiment
from agent.store.approvals import get_approval
from tests.utils.agent_world import DANA, World, drafted


def _experiment(world: World, experiment_id: str) -> str:
    """Puts `experiment_id` (subject style, topic vs question) in the playbook; Dana's variant."""
    ctx = world.agent.ctx
    experiment = Experiment(
        id=experiment_id, element="subject_style", variants=["topic", "question"]
    )
    ctx.playbook = ctx.playbook.model_copy(update={"experiments": [experiment]})
    return variant_for(experiment_id, DANA["id"], experiment.variants)


def _id_giving_dana(variant: str) -> str:
    """An experiment id under which Dana's stable hash picks `variant`."""
    variants = ["topic", "question"]
    return next(
        f"subjects-{n}"
        for n in range(100)
        if variant_for(f"subjects-{n}", "L1", variants) == variant
    )


def test_the_draft_and_its_send_carry_the_assigned_variant(world: World) -> None:
    experiment_id = _id_giving_dana("question")
    assert _experiment(world, experiment_id) == "question"
    approval_id = drafted(world)
    row = get_approval(world.agent.ctx.db, approval_id)
    assert row.experiments == {experiment_id: "question"}
    assert row.subject.endswith("?"), row.subject
    assert world.agent.answer(approval_id, "accept", by="mara").outcome == "sent"
    [message] = world.delivered()
    assert message["Subject"] == row.subject


def test_the_topic_variant_keeps_the_plain_subject(world: World) -> None:
    experiment_id = _id_giving_dana("topic")
    assert _experiment(world, experiment_id) == "topic"
    row = get_approval(world.agent.ctx.db, drafted(world))
    assert row.experiments == {experiment_id: "topic"}
    assert not row.subject.endswith("?"), row.subject
