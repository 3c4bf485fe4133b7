"""GET /v1/accounts/{account}: the account's score, stage, engaged contacts, its contacts with
roles, scores and stages, and its timeline, as the store holds them; 404 for an unknown one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from agent.store.handoffs import record_handoff
from agent.store.schema import LeadDecisionRow, LeadRow
from tests.utils.agent_world import DANA
from tests.utils.service import Service


def test_an_account_lists_its_contacts(service: Service) -> None:
    service.world.seed(
        {"id": "L-cfo", "email": "cfo@northwind.example", "attributes": {"title": "CFO"}},
        [("pricing_page_view", 3, {"path": "/pricing"})],
    )
    service.world.seed({"id": "L-else", "email": "x@globex.example"}, [])
    answer = service.call("GET", "/v1/accounts/northwind.example", "rep")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    with service.world.agent.ctx.db.session() as session:
        members = set(
            session.scalars(select(LeadRow.id).where(LeadRow.account == "northwind.example"))
        )
        decided = dict(
            session.execute(select(LeadDecisionRow.lead_id, LeadDecisionRow.stage)).all()
        )
    assert {c["lead_id"] for c in body["contacts"]} == members == {DANA["id"], "L-cfo"}
    roles = {c["lead_id"]: c["role"] for c in body["contacts"]}
    assert roles == {DANA["id"]: "influencer", "L-cfo": "decision_maker"}
    for contact in body["contacts"]:
        assert contact["stage"] == decided.get(contact["lead_id"])
    assert body["score_rule"] == "max"
    assert body["score"] == max(c["score"] or 0 for c in body["contacts"])
    assert body["engaged_contacts"] == 2
    assert body["handoff"] is None  # the default playbook's rule wants three engaged contacts
    assert body["handoff_record"] is None
    assert {e["lead_id"] for e in body["timeline"]} == members


def test_an_unknown_account_is_404(service: Service) -> None:
    answer = service.call("GET", "/v1/accounts/nobody.example", "marketer")
    assert answer.status_code == 404
    assert "nobody.example" in answer.text


def test_three_engaged_contacts_say_the_account_goes_to_sales(service: Service) -> None:
    for n in (1, 2):
        service.world.seed(
            {"id": f"L-{n}", "email": f"c{n}@northwind.example"},
            [("pricing_page_view", n, {"path": "/pricing"})],
        )
    body = service.call("GET", "/v1/accounts/northwind.example", "rep").json()
    assert body["engaged_contacts"] == 3
    assert body["handoff"] == "3 contacts engaged within 14 days (accounts.handoff)"


def test_the_account_shows_the_hand_off_sales_holds(service: Service) -> None:
    db = service.world.agent.ctx.db
    record_handoff(
        db,
        handoff_id="H-account",
        lead_id=DANA["id"],
        rule="accounts.handoff",
        reason="3 contacts engaged within 14 days (accounts.handoff)",
        payload={},
        webhook_status="queued",
        at=datetime.now(UTC),
    )
    body = service.call("GET", "/v1/accounts/northwind.example", "rep").json()
    record = body["handoff_record"]
    assert (record["lead_id"], record["rule"], record["state"]) == (
        DANA["id"],
        "accounts.handoff",
        "new",
    )
