"""A draft whose guardrails failed is never sent by one keystroke: accepting it unchanged needs an
explicit override (CLI flag, API field, the page's confirm box), which the audit records with who
and which checks. Without it the answer is refused, naming the checks, and the draft waits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.errors import NurtureError
from agent.store.approvals import get_approval
from tests.test_cli import run
from tests.test_cli_agent import approval_id_in, cli_env  # noqa: F401 - a fixture
from tests.utils.agent_world import World, drafted
from tests.utils.service import Service
from tests.utils.smtp import CollectingHandler

FAILED_CHECKS = ("guardrail.grounding", "guardrail.stage_terms")


def pricing_edit(unsubscribe_line: str) -> tuple[str, str]:
    """An edit the guardrails refuse at the interest stage: pricing and an ungrounded number."""
    return "Deal", f"Hi Dana, our pricing is 50% off this week.\n{unsubscribe_line}\n"


def flagged(world: World, first: str | None = None) -> str:
    """A draft waiting with failed guardrails: an edit of `first` (or of a new draft) that the
    guardrails sent back, flagged."""
    first = first or drafted(world)
    row = get_approval(world.agent.ctx.db, first)
    subject, body = pricing_edit(row.body.splitlines()[-1])
    result = world.agent.answer(first, "edit", by="sam", subject=subject, body=body)
    assert result.outcome == "awaiting_approval" and result.approval_id, result
    again = get_approval(world.agent.ctx.db, result.approval_id)
    assert {v["rule"] for v in again.violations} >= set(FAILED_CHECKS)
    return result.approval_id


def test_accepting_a_flagged_draft_is_refused_without_an_override(world: World) -> None:
    approval_id = flagged(world)
    with pytest.raises(NurtureError) as refused:
        world.agent.answer(approval_id, "accept", by="sam")
    for check in FAILED_CHECKS:
        assert check in str(refused.value)
    row = get_approval(world.agent.ctx.db, approval_id)
    assert row.status == "pending" and row.decided_by is None
    assert world.delivered() == []


def test_an_override_sends_it_and_the_audit_says_who_overrode_which_checks(world: World) -> None:
    approval_id = flagged(world)
    result = world.agent.answer(approval_id, "accept", by="sam", override_guardrails=True)
    assert result.outcome == "sent"
    assert len(world.delivered()) == 1
    row = get_approval(world.agent.ctx.db, approval_id)
    assert row.status == "accepted" and row.guardrails_overridden_by == "sam"
    assert set(row.guardrails_overridden or []) >= set(FAILED_CHECKS)


def test_an_override_on_a_clean_draft_records_nothing(world: World) -> None:
    approval_id = drafted(world)
    result = world.agent.answer(approval_id, "accept", by="sam", override_guardrails=True)
    assert result.outcome == "sent"
    row = get_approval(world.agent.ctx.db, approval_id)
    assert row.guardrails_overridden_by is None and not row.guardrails_overridden


def test_the_interrupt_of_a_flagged_draft_offers_no_accept(world: World) -> None:
    approval_id = flagged(world)
    thread = get_approval(world.agent.ctx.db, approval_id).thread_id
    [waiting] = world.agent.graph.get_state({"configurable": {"thread_id": thread}}).interrupts
    [request] = waiting.value
    assert request["action_request"]["args"]["approval_id"] == approval_id
    assert request["config"] == {
        "allow_accept": False,
        "allow_edit": True,
        "allow_respond": True,
        "allow_ignore": True,
    }


@pytest.mark.usefixtures("cli_env")
def test_cli_approve_needs_override_guardrails(
    smtp_server: tuple[CollectingHandler, int], tmp_path: Path, monkeypatch, capsys
) -> None:  # noqa: ANN001
    smtp = smtp_server[0]
    _, out, _ = run(monkeypatch, capsys, "draft", "L1")
    first = approval_id_in(out)
    edit = tmp_path / "edit.txt"
    subject, body = pricing_edit(
        "Not useful? Unsubscribe: https://routewise.example/unsubscribe?lead=L1"
    )
    edit.write_text(f"Subject: {subject}\n\n{body}")
    code, out, err = run(monkeypatch, capsys, "approve", first, "--edit", str(edit))
    approval = approval_id_in(out)
    assert approval != first

    code, out, err = run(monkeypatch, capsys, "approve", approval, "--by", "dana")
    assert code != 0, out
    for check in FAILED_CHECKS:
        assert check in err
    assert "--override-guardrails" in err and "Traceback" not in out + err
    assert smtp.envelopes == []
    _, out, _ = run(monkeypatch, capsys, "inbox")
    assert approval in out  # still waiting

    code, out, err = run(
        monkeypatch, capsys, "approve", approval, "--by", "dana", "--override-guardrails"
    )
    assert code == 0, err
    assert "L1: sent" in out
    assert len(smtp.envelopes) == 1


def test_api_accept_needs_override_guardrails(service: Service) -> None:
    approval_id = flagged(service.world, service.approval_id)  # one draft per lead: the waiting one
    path = f"/v1/approvals/{approval_id}/decision"
    shown = service.call("GET", f"/v1/approvals/{approval_id}", "rep").json()
    assert shown["guardrails_overridden_by"] is None

    refused = service.call("POST", path, "marketer", json={"answer": "accept"})
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert all(check in detail for check in FAILED_CHECKS) and "override_guardrails" in detail
    assert service.call("GET", f"/v1/approvals/{approval_id}", "rep").json()["status"] == (
        "pending"
    )
    assert service.world.delivered() == []

    accepted = service.call(
        "POST", path, "marketer", json={"answer": "accept", "override_guardrails": True}
    )
    assert accepted.status_code == 200, accepted.text
    audit = accepted.json()["approval"]
    assert audit["status"] == "accepted" and audit["send"]["status"] == "sent"
    assert audit["guardrails_overridden_by"] == "marketer-1"
    assert set(audit["guardrails_overridden"]) >= set(FAILED_CHECKS)
    assert len(service.world.delivered()) == 1


def test_the_page_asks_to_confirm_the_failed_checks(service: Service) -> None:
    approval_id = flagged(service.world, service.approval_id)  # one draft per lead: the waiting one
    client = service.client
    assert client.post("/login", data={"key": service.keys["marketer"]}).status_code == 200
    page = client.get(f"/inbox/{approval_id}").text
    assert 'name="override_guardrails"' in page
    for check in FAILED_CHECKS:
        assert check in page
    row = get_approval(service.world.agent.ctx.db, approval_id)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the draft page's forms carry the session's CSRF token"
    form = {
        "approval_id": approval_id,
        "subject": row.subject,
        "body": row.body,
        "csrf_token": token.group(1),
    }

    refused = client.post(f"/inbox/{approval_id}/approve", data=form, follow_redirects=False)
    assert refused.status_code == 409
    assert all(check in refused.text for check in FAILED_CHECKS)
    assert get_approval(service.world.agent.ctx.db, approval_id).status == "pending"
    assert service.world.delivered() == []

    confirmed = client.post(
        f"/inbox/{approval_id}/approve",
        data={**form, "override_guardrails": "on"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303, confirmed.text
    row = get_approval(service.world.agent.ctx.db, approval_id)
    assert row.status == "accepted" and row.guardrails_overridden_by == "marketer-1"
    assert len(service.world.delivered()) == 1
