"""Do-not-contact from any source wins: the field, an attribute a CRM export carried (under its
own name, as a string), a CSV column. A conflict is never resolved towards contacting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.store.approvals import pending
from agent.store.leads import upsert_leads
from agent.store.sends import get_send
from tests.test_cli import run, write_jsonl
from tests.utils.agent_world import DANA, World, drafted
from tests.utils.service import Service
from tests.utils.smtp import CollectingHandler

NOW = datetime.now(UTC)


@pytest.fixture
def cli_data(
    indexed_data: Path,
    tmp_path: Path,
    smtp_server: tuple[CollectingHandler, int],
    monkeypatch: pytest.MonkeyPatch,
) -> CollectingHandler:
    """An empty database with the content library indexed: leads arrive through `import`."""
    for name, value in {
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(smtp_server[1]),
        "NURTURE_SMTP_STARTTLS": "false",
    }.items():
        monkeypatch.setenv(name, value)
    return smtp_server[0]


def due_events(lead_ids: list[str]) -> list[dict[str, Any]]:
    """A whitepaper download four days ago: without do-not-contact, the lead is emailed."""
    return [
        {
            "id": f"{lead_id}-wp",
            "lead_id": lead_id,
            "type": "whitepaper_download",
            "occurred_at": (NOW - timedelta(days=4)).isoformat(),
            "properties": {"topic": "route optimisation"},
        }
        for lead_id in lead_ids
    ]


def lead(lead_id: str, **fields: Any) -> dict[str, Any]:
    return {**DANA, "id": lead_id, "email": f"{lead_id.lower()}@northwind.example", **fields}


def next_action(monkeypatch, capsys, lead_id: str) -> dict[str, Any]:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, "next", lead_id, "--json")
    assert code == 0, err
    return json.loads(out)


JSONL_LEADS = [
    lead("OK"),  # the control: nothing says do-not-contact
    lead("A1", attributes={**DANA["attributes"], "do_not_contact": True}),
    lead("A2", attributes={"do_not_contact": "yes"}),
    lead("A3", attributes={"HasOptedOutOfEmail": "Y"}),  # Salesforce
    lead("A4", attributes={"hs_email_optout": "true"}),  # HubSpot
    lead("A5", attributes={"unsubscribed": 1}),
    lead("A6", do_not_contact=False, attributes={"email_opt_out": "1"}),  # a conflict
]


def test_jsonl_import_suppresses_every_lead_an_attribute_marks(
    cli_data: CollectingHandler, tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    leads = write_jsonl(tmp_path / "leads.jsonl", JSONL_LEADS)
    ids = [item["id"] for item in JSONL_LEADS]
    events = write_jsonl(tmp_path / "events.jsonl", due_events(ids))
    assert run(monkeypatch, capsys, "import", "leads", str(leads))[0] == 0
    assert run(monkeypatch, capsys, "import", "events", str(events))[0] == 0

    assert next_action(monkeypatch, capsys, "OK")["action"] == "send_email"
    for lead_id in ids[1:]:
        decision = next_action(monkeypatch, capsys, lead_id)
        assert (decision["action"], decision["reasons"][0]["rule"]) == (
            "suppress",
            "suppress.do_not_contact",
        ), lead_id
        code, out, err = run(monkeypatch, capsys, "draft", lead_id)
        assert code == 0, err
        assert f"{lead_id}: suppressed" in out, out
    _, out, _ = run(monkeypatch, capsys, "inbox")
    assert "The inbox is empty." in out
    assert cli_data.envelopes == []


def test_csv_import_reads_do_not_contact_from_any_column(
    cli_data: CollectingHandler, tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "id,email,name,do_not_contact,Unsubscribed,industry\n"
        "C0,c0@northwind.example,Cleo,,,logistics\n"
        "C1,c1@northwind.example,Cato,,yes,logistics\n"
        "C2,c2@northwind.example,Cass,Y,,logistics\n"
        "C3,c3@northwind.example,Cyd,false,TRUE,logistics\n"
    )
    events = write_jsonl(tmp_path / "events.jsonl", due_events(["C0", "C1", "C2", "C3"]))
    code, out, _ = run(monkeypatch, capsys, "import", "leads", str(csv))
    assert code == 0, out
    assert run(monkeypatch, capsys, "import", "events", str(events))[0] == 0

    assert next_action(monkeypatch, capsys, "C0")["action"] == "send_email"
    for lead_id in ("C1", "C2", "C3"):
        assert next_action(monkeypatch, capsys, lead_id)["action"] == "suppress", lead_id
        code, out, _ = run(monkeypatch, capsys, "draft", lead_id)
        assert f"{lead_id}: suppressed" in out, out
    assert cli_data.envelopes == []


def test_api_put_with_the_attribute_is_suppressed_and_not_drafted(service: Service) -> None:
    body = {
        "email": "opted-out@northwind.example",
        "name": "Olive Out",
        "attributes": {"industry": "logistics", "do_not_contact": "true"},
    }
    put = service.call("PUT", "/v1/leads/OPT", "marketer", json=body)
    assert put.status_code == 200, put.text
    events = service.call("POST", "/v1/events/batch", "ingest", json=due_events(["OPT"]))
    assert events.status_code == 200 and events.json()["stored"] == 1, events.text

    shown = service.call("GET", "/v1/leads/OPT", "rep").json()
    assert shown["do_not_contact"] is True  # the lead list and the decision agree
    decision = service.call("GET", "/v1/leads/OPT/next", "rep").json()
    assert (decision["action"], decision["reasons"][0]["rule"]) == (
        "suppress",
        "suppress.do_not_contact",
    )
    started = service.call("POST", "/v1/leads/OPT/drafts", "marketer")
    assert started.status_code == 202, started.text
    run_ = service.wait_for_run(started.json()["status_url"])
    assert run_["status"] == "suppressed" and run_["approval_id"] is None
    assert pending(service.world.agent.ctx.db, lead_id="OPT") == []


def test_the_send_node_refuses_a_lead_marked_after_the_draft(world: World) -> None:
    approval_id = drafted(world)
    ctx = world.agent.ctx
    marked = {**DANA, "attributes": {**DANA["attributes"], "HasOptedOutOfEmail": "Y"}}
    assert upsert_leads(ctx.db, [marked], ctx.playbook).count("stored") == 1
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "blocked"
    assert "suppress.do_not_contact" in (result.detail or "")
    assert get_send(ctx.db, approval_id).status == "blocked"  # type: ignore[union-attr]
    assert world.delivered() == []


@pytest.mark.parametrize(
    ("field", "attributes", "expected"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"do_not_contact": True}, True),
        (False, {"do_not_contact": "Y"}, True),
        (False, {"Do Not Contact": "yes"}, True),
        (False, {"unsubscribed": "1"}, True),
        (False, {"email_opt_out": 1}, True),
        (False, {"HasOptedOutOfEmail": "true"}, True),
        (False, {"hs_email_optout": "TRUE"}, True),
        (False, {"unsubscribed": "2025-03-01"}, True),  # a date it happened still says so
        (False, {"do_not_contact": False, "unsubscribed": "no"}, False),
        (False, {"do_not_contact": "false", "email_opt_out": "0"}, False),
        (False, {"do_not_contact": None, "hs_email_optout": ""}, False),
        (True, {"do_not_contact": "no"}, True),  # the field said so: an attribute cannot undo it
        (False, {"industry": "logistics", "opted_in": True}, False),
    ],
)
def test_the_rule(field: bool, attributes: dict[str, Any], expected: bool) -> None:
    from agent.contact import says_do_not_contact

    assert says_do_not_contact(field, attributes) is expected
