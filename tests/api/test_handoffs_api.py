"""Hand-offs over the API: listed with who, why, evidence, score, rep, state and audit; a rep
accepts, recycles (with a reason) or closes their own and gets 403 on another rep's; a marketer
may act on any; a move the state does not allow is 409 and changes nothing. The SLA flag: a
hand-off waiting longer than the playbook's acceptance SLA is `overdue` in the list and counted
on /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from agent.store.handoffs import get_handoff
from agent.store.schema import HandoffRow
from tests.utils.handoffs import Rep, hand_off, lead, make_rep
from tests.utils.service import Service


def bearer(rep: Rep) -> dict[str, str]:
    return {"Authorization": f"Bearer {rep.key}"}


def two_reps_two_handoffs(service: Service) -> tuple[Rep, Rep, str, str]:
    db = service.world.agent.ctx.db
    riley = make_rep(db, "riley", "riley@routewise.example")
    sam = make_rep(db, "sam", "sam@routewise.example")
    first = hand_off(service.world, lead(10, owner=riley.email)).id
    second = hand_off(service.world, lead(11, owner=sam.email)).id
    return riley, sam, first, second


def test_the_list_shows_who_why_and_the_rep(service: Service) -> None:
    riley, sam, first, second = two_reps_two_handoffs(service)
    listed = service.call("GET", "/v1/handoffs", "marketer").json()
    assert [h["id"] for h in listed] == [first, second]
    one = listed[0]
    assert (one["lead_id"], one["lead_name"], one["company"]) == (
        "L10",
        "Lead 10",
        "Northwind Freight",
    )
    assert one["rule"] == "handoff.demo_request" and "demo" in one["why"].lower()
    assert one["evidence"].startswith("demo_request ")
    assert one["score"] > 0 and one["stage"] == "decision"
    assert (one["assigned_to"], one["state"], one["overdue"]) == (riley.email, "delivered", False)
    assert [c["to_state"] for c in one["changes"]] == ["new", "delivered"]
    mine = service.client.get("/v1/handoffs", params={"rep": sam.email}, headers=bearer(sam))
    assert [h["id"] for h in mine.json()] == [second]
    by_key = service.call("GET", "/v1/handoffs", "rep", params={"rep": riley.key_id}).json()
    assert [h["id"] for h in by_key] == [first]
    assert service.call("GET", "/v1/handoffs", "ingest").status_code == 403
    bad = service.call("GET", "/v1/handoffs", "marketer", params={"state": "lost"})
    assert bad.status_code == 422 and "state" in bad.text


def test_a_rep_moves_only_their_own_and_every_move_is_audited(service: Service) -> None:
    riley, sam, first, second = two_reps_two_handoffs(service)
    db = service.world.agent.ctx.db
    theirs = service.client.post(f"/v1/handoffs/{second}/accept", headers=bearer(riley))
    assert theirs.status_code == 403 and "sam@routewise.example" in theirs.json()["detail"]
    assert get_handoff(db, second).state == "delivered"  # type: ignore[union-attr]

    accepted = service.client.post(f"/v1/handoffs/{first}/accept", headers=bearer(riley))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    again = service.client.post(f"/v1/handoffs/{first}/accept", headers=bearer(riley))
    assert again.status_code == 409 and "accepted" in again.json()["detail"]

    no_reason = service.client.post(
        f"/v1/handoffs/{first}/recycle", headers=bearer(riley), json={"reason": " "}
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    closed = service.client.post(
        f"/v1/handoffs/{first}/close", headers=bearer(riley), json={"reason": "won"}
    )
    assert closed.json()["state"] == "closed"
    changes = closed.json()["changes"]
    assert [(c["from_state"], c["to_state"], c["by"], c["reason"]) for c in changes[2:]] == [
        ("delivered", "accepted", "riley", None),
        ("accepted", "closed", "riley", "won"),
    ]
    assert all(datetime.fromisoformat(c["at"]) <= datetime.now(UTC) for c in changes)

    # a marketer may recycle anyone's, with a reason
    recycled = service.call(
        "POST", f"/v1/handoffs/{second}/recycle", "marketer", json={"reason": "Budget in Q3"}
    )
    assert recycled.status_code == 200, recycled.text
    last = recycled.json()["changes"][-1]
    assert (last["to_state"], last["by"], last["reason"]) == (
        "recycled",
        "marketer-1",
        "Budget in Q3",
    )
    assert service.call("POST", "/v1/handoffs/nope/accept", "marketer").status_code == 404
    states = service.call("GET", "/v1/handoffs", "rep", params={"state": "recycled"}).json()
    assert [h["id"] for h in states] == [second]


def test_a_handoff_past_the_sla_is_flagged_in_the_list_and_on_metrics(service: Service) -> None:
    _riley, _sam, first, second = two_reps_two_handoffs(service)
    db = service.world.agent.ctx.db
    sla = service.world.agent.ctx.playbook.handoffs.accept_within_hours
    assert sla == 24
    with db.session() as session:
        session.execute(
            update(HandoffRow)
            .where(HandoffRow.id == first)
            .values(created_at=datetime.now(UTC) - timedelta(hours=sla, minutes=5))
        )
        session.execute(
            update(HandoffRow)
            .where(HandoffRow.id == second)
            .values(created_at=datetime.now(UTC) - timedelta(hours=sla, minutes=-5))
        )
    listed = {h["id"]: h["overdue"] for h in service.call("GET", "/v1/handoffs", "rep").json()}
    assert listed == {first: True, second: False}
    metrics = service.call("GET", "/metrics", "admin").text
    assert "nurture_handoffs_overdue 1.0" in metrics
    assert 'nurture_handoffs{state="delivered"} 2.0' in metrics
    # accepted in time or late, it no longer waits: the flag goes
    service.call("POST", f"/v1/handoffs/{first}/accept", "marketer")
    listed = {h["id"]: h["overdue"] for h in service.call("GET", "/v1/handoffs", "rep").json()}
    assert listed == {first: False, second: False}
    assert "nurture_handoffs_overdue 0.0" in service.call("GET", "/metrics", "admin").text
