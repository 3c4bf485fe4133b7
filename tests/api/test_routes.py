"""The JSON API end to end against the real agent, store and SMTP server: leads, events,
next actions, background draft runs, approvals with their audit, content, playbook, metrics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import update

from agent.errors import NurtureError
from agent.settings import Settings
from agent.store.approvals import get_approval, record_answer
from agent.store.schema import LeadDecisionRow
from tests.utils.agent_world import DANA
from tests.utils.service import Service

T = TypeVar("T")


def _event(n: int, lead_id: str = "L1", **overrides: object) -> dict[str, object]:
    at = datetime.now(UTC) - timedelta(hours=n + 1)
    return {
        "id": f"api-{lead_id}-{n}",
        "lead_id": lead_id,
        "type": "page_view",
        "occurred_at": at.isoformat(),
        "properties": {"path": "/blog/routing", "topic": "route optimisation"},
    } | overrides


def eventually(read: Callable[[], T], until: Callable[[T], bool], seconds: float = 20) -> T:
    """What `read` returns once `until` holds (background work has landed), or the last read."""
    deadline = time.monotonic() + seconds
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.02)
        value = read()
    return value


def test_lead_upsert_get_and_list(service: Service) -> None:
    put = service.call(
        "PUT",
        "/v1/leads/L9",
        "marketer",
        json={"email": "ana@acme.example", "name": "Ana", "attributes": {"industry": "retail"}},
    )
    assert put.status_code == 200, put.text
    assert put.json()["attributes"] == {"industry": "retail"}
    got = service.call("GET", "/v1/leads/L9", "rep").json()
    assert got["email"] == "ana@acme.example" and got["decision"] is None
    listed = service.call("GET", "/v1/leads", "rep", params={"limit": 1}).json()
    assert [lead["id"] for lead in listed["leads"]] == ["L1"] and listed["next_after"] == "L1"
    rest = service.call("GET", "/v1/leads", "rep", params={"after": "L1"}).json()
    assert [lead["id"] for lead in rest["leads"]] == ["L9"] and rest["next_after"] is None


def test_ids_with_slashes_reach_every_route(service: Service) -> None:
    lead = {"email": "crm@x.example", "name": "Slash"}
    assert service.call("PUT", "/v1/leads/acme%2F42", "marketer", json=lead).status_code == 200
    assert service.call("GET", "/v1/leads/acme%2F42", "rep").json()["id"] == "acme/42"
    assert service.call("GET", "/v1/leads/acme/42", "rep").json()["id"] == "acme/42"
    assert service.call("GET", "/v1/leads/acme%2F42/next", "rep").json()["lead_id"] == "acme/42"
    assert service.call("GET", "/v1/leads/acme%2F42/sends", "rep").json() == []


def test_lead_batch_keeps_the_valid_items(service: Service) -> None:
    batch = [
        {"id": "B1", "email": "b1@x.example"},
        {"id": "B2", "email": "not-an-email"},
        {"id": "B3", "email": "b3@x.example", "colour": "red"},
    ]
    response = service.call("POST", "/v1/leads", "marketer", json=batch)
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["rejected"]) == (1, 2)
    reasons = {r["index"]: r["reason"] for r in body["results"] if r["status"] == "rejected"}
    assert "email" in reasons[1] and "colour" in reasons[2]
    assert service.call("GET", "/v1/leads/B1", "rep").status_code == 200
    assert service.call("GET", "/v1/leads/B2", "rep").status_code == 404


def test_bad_input_is_a_422_naming_the_field(service: Service) -> None:
    response = service.call("PUT", "/v1/leads/L9", "marketer", json={"email": "nope"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "email"] and "email" in detail[0]["msg"]
    naive = _event(0, occurred_at="2026-01-01T10:00:00")
    response = service.call("POST", "/v1/events", "ingest", json=naive)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    unknown = service.call("POST", "/v1/events", "ingest", json=_event(1, lead_id="ghost"))
    assert unknown.status_code == 422
    [problem] = unknown.json()["detail"]
    assert problem["loc"] == ["body", "lead_id"] and problem["msg"] == "unknown lead 'ghost'"
    padded = service.call("PUT", "/v1/leads/%0DL7", "marketer", json={"email": "a@b.example"})
    assert padded.status_code == 422 and padded.json()["detail"][0]["loc"] == ["path", "lead_id"]
    bad_filter = service.call("GET", "/v1/leads", "rep", params={"stage": "shopping"})
    assert bad_filter.status_code == 422 and bad_filter.json()["detail"][0]["loc"] == [
        "query",
        "stage",
    ]


def test_event_batch_reports_each_item_and_is_idempotent(service: Service) -> None:
    batch = [_event(n) for n in range(5)]
    batch.insert(2, _event(99, type="telepathy"))
    batch.insert(4, _event(98, lead_id="ghost"))
    first = service.call("POST", "/v1/events/batch", "ingest", json=batch).json()
    assert (first["stored"], first["rejected"], first["duplicate"]) == (5, 2, 0)
    rejected = {r["index"]: r["reason"] for r in first["results"] if r["status"] == "rejected"}
    assert set(rejected) == {2, 4}
    assert "telepathy" in rejected[2] and "ghost" in rejected[4]
    again = service.call("POST", "/v1/events/batch", "ingest", json=batch).json()
    assert (again["stored"], again["duplicate"]) == (0, 5)
    single = service.call("POST", "/v1/events", "ingest", json=_event(0))
    assert single.status_code == 200 and single.json()["status"] == "duplicate"


def test_an_oversize_batch_is_413_and_stores_nothing(service: Service) -> None:
    batch = [_event(n) for n in range(10_001)]
    response = service.call("POST", "/v1/events/batch", "ingest", json=batch)
    assert response.status_code == 413 and "10,000" in response.json()["detail"]
    assert service.call("POST", "/v1/events", "ingest", json=_event(0)).json()["status"] == "stored"


def test_next_action_is_the_decision_json_with_the_playbook_version(service: Service) -> None:
    response = service.call("GET", "/v1/leads/L1/next", "rep")
    assert response.status_code == 200
    body = response.json()
    playbook = service.world.agent.ctx.playbook
    assert body["playbook_version"] == playbook.version
    assert body["lead_id"] == "L1" and body["stage"] in {"interest", "consideration"}
    assert body["reasons"] and body["score"]["contributions"]
    # recorded (after the response, in the background), so the lead list can filter on it
    listed = eventually(
        lambda: service.call("GET", "/v1/leads", "rep", params={"stage": body["stage"]}).json(),
        until=lambda page: bool(page["leads"]),
    )
    assert [lead["id"] for lead in listed["leads"]] == ["L1"]
    assert listed["leads"][0]["decision"]["action"] == body["action"]
    other = "decision" if body["stage"] != "decision" else "awareness"
    none = service.call("GET", "/v1/leads", "rep", params={"stage": other}).json()
    assert none["leads"] == []
    past = service.call("GET", "/v1/leads/L1/next", "rep", params={"at": "2020-01-01T00:00:00Z"})
    assert past.json()["score"]["contributions"] == []  # nothing had happened yet
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert service.call("GET", "/v1/leads/L1/next", "rep", params={"at": future}).status_code == 422
    assert service.call("GET", "/v1/leads/nobody/next", "rep").status_code == 404
    ancient = service.call(
        "GET", "/v1/leads/L1/next", "rep", params={"at": "0001-01-01T00:00:00+14:00"}
    )
    assert ancient.status_code == 422 and ancient.json()["detail"][0]["loc"] == ["query", "at"]


def test_a_draft_run_returns_at_once_and_finishes_in_the_background(service: Service) -> None:
    lead = {**DANA, "id": "L2", "email": "sam@northwind.example", "name": "Sam Reyes"}
    service.call(
        "PUT", "/v1/leads/L2", "marketer", json={k: v for k, v in lead.items() if k != "id"}
    )
    whitepaper = _event(
        96,
        lead_id="L2",
        type="whitepaper_download",
        properties={"topic": "route optimisation", "asset_id": "wp-time-windows-routing-cost"},
    )
    assert service.call("POST", "/v1/events", "ingest", json=whitepaper).status_code == 200
    accepted = service.call("POST", "/v1/leads/L2/drafts", "rep")
    assert accepted.status_code == 202
    run = service.wait_for_run(accepted.json()["status_url"])
    assert run["status"] == "awaiting_approval" and run["approval_id"]
    waiting = service.call("GET", "/v1/approvals", "rep", params={"lead_id": "L2"}).json()
    assert [a["id"] for a in waiting] == [run["approval_id"]]
    assert waiting[0]["playbook_version"] == service.world.agent.ctx.playbook.version
    assert service.call("POST", "/v1/leads/ghost/drafts", "rep").status_code == 404
    again = service.call("POST", "/v1/leads/L2/drafts", "rep")
    assert again.status_code == 409 and run["approval_id"] in again.json()["detail"]


def test_an_edit_is_sent_and_audited_with_before_and_after(service: Service) -> None:
    before = service.call("GET", f"/v1/approvals/{service.approval_id}", "rep").json()
    edited = before["body"].replace("Hi Dana", "Hello Dana", 1)
    assert edited != before["body"]
    response = service.call(
        "POST",
        f"/v1/approvals/{service.approval_id}/decision",
        "marketer",
        json={"answer": "edit", "subject": "Routing, cut by a tenth", "body": edited},
    )
    assert response.status_code == 200, response.text
    decided = response.json()
    audit = decided["approval"]
    assert audit["status"] == "edited" and audit["edited"] is True
    assert audit["decided_by"] == "marketer-1" and audit["decided_at"]
    assert (audit["subject"], audit["body"]) == (before["subject"], before["body"])
    assert (audit["final_subject"], audit["final_body"]) == ("Routing, cut by a tenth", edited)
    assert decided["run"]["status"] == "sent" and audit["send"]["status"] == "sent"
    [message] = service.world.delivered()
    assert message["Subject"] == "Routing, cut by a tenth"
    assert "Hello Dana" in message.get_body(("plain",)).get_content()
    again = service.call(
        "POST",
        f"/v1/approvals/{service.approval_id}/decision",
        "marketer",
        json={"answer": "accept"},
    )
    assert again.status_code == 409 and "already edited" in again.json()["detail"]
    assert len(service.world.delivered()) == 1
    sends = service.call("GET", "/v1/sends", "rep", params={"lead_id": "L1"}).json()
    assert [s["subject"] for s in sends] == ["Routing, cut by a tenth"]
    history = service.call("GET", "/v1/approvals", "rep", params={"status": "edited"}).json()
    assert [a["id"] for a in history] == [service.approval_id]


def test_respond_asks_for_a_new_draft(service: Service) -> None:
    response = service.call(
        "POST",
        f"/v1/approvals/{service.approval_id}/decision",
        "marketer",
        json={"answer": "respond", "feedback": "Shorter, and mention the route planner."},
    )
    assert response.status_code == 200
    new_id = response.json()["next_approval_id"]
    assert new_id and new_id != service.approval_id
    assert service.call("GET", f"/v1/approvals/{new_id}", "rep").json()["status"] == "pending"
    assert service.world.delivered() == []


def test_a_decision_needs_what_its_answer_needs(service: Service) -> None:
    path = f"/v1/approvals/{service.approval_id}/decision"
    missing = service.call("POST", path, "marketer", json={"answer": "edit", "subject": "x"})
    assert missing.status_code == 422
    assert any(e["loc"][-1] == "body" for e in missing.json()["detail"])
    unknown = service.call("POST", path, "marketer", json={"answer": "maybe"})
    assert unknown.status_code == 422
    assert (
        service.call(
            "POST", "/v1/approvals/nope/decision", "marketer", json={"answer": "accept"}
        ).status_code
        == 404
    )
    assert (
        service.call("GET", f"/v1/approvals/{service.approval_id}", "rep").json()["status"]
        == "pending"
    )


def test_content_search_finds_stage_fit_assets(service: Service) -> None:
    response = service.call(
        "GET",
        "/v1/content/search",
        "rep",
        params={"stage": "consideration", "q": "route optimisation", "industry": "logistics"},
    )
    assert response.status_code == 200
    hits = response.json()["hits"]
    assets = service.world.agent.ctx.assets
    assert hits and all("consideration" in assets[h["asset_id"]].meta.stages for h in hits)


def test_playbook_validate_and_activate(service: Service, settings: Settings) -> None:
    current = service.call("GET", "/v1/playbook", "rep").json()
    assert current["source"] == str(settings.playbook)
    broken = service.call(
        "POST", "/v1/playbook/validate", "admin", json={"yaml": "version: x\nsignals: 3\n"}
    )
    assert broken.status_code == 200 and broken.json()["valid"] is False
    assert any(p["path"] == "signals" for p in broken.json()["problems"])
    data = yaml.safe_load(Path(settings.playbook).read_text())
    data["version"] = "api-test-2"
    data["scoring"]["hot_threshold"] = 10
    candidate = yaml.safe_dump(data, sort_keys=False)
    assert service.call(
        "POST", "/v1/playbook/validate", "admin", json={"yaml": candidate}
    ).json() == {
        "valid": True,
        "version": "api-test-2",
        "problems": [],
    }
    assert (
        service.call(
            "POST", "/v1/playbook/activate", "marketer", json={"yaml": candidate}
        ).status_code
        == 403
    )
    activated = service.call("POST", "/v1/playbook/activate", "admin", json={"yaml": candidate})
    assert activated.status_code == 200, activated.text
    assert (
        activated.json()["source"] == "activated" and activated.json()["activated_by"] == "admin-1"
    )
    decision = service.call("GET", "/v1/leads/L1/next", "rep").json()
    assert decision["playbook_version"] == "api-test-2" and decision["score"]["hot"] is True
    data["scoring"]["hot_threshold"] = 20
    reuse = service.call(
        "POST", "/v1/playbook/activate", "admin", json={"yaml": yaml.safe_dump(data)}
    )
    assert reuse.status_code == 409 and "new version" in reuse.json()["detail"]
    # the configured file's version with other rules is refused too; the file's own text is not
    data["version"] = playbook_version = yaml.safe_load(Path(settings.playbook).read_text())[
        "version"
    ]
    same_name = service.call(
        "POST", "/v1/playbook/activate", "admin", json={"yaml": yaml.safe_dump(data)}
    )
    assert same_name.status_code == 409
    original = service.call(
        "POST", "/v1/playbook/activate", "admin", json={"yaml": Path(settings.playbook).read_text()}
    )
    assert original.status_code == 200 and original.json()["version"] == playbook_version
    versions = service.call("GET", "/v1/playbook/versions", "rep").json()
    assert [v["version"] for v in versions] == [playbook_version, "api-test-2"]


def test_health_ready_and_metrics(service: Service) -> None:
    assert service.client.get("/health").json() == {"status": "ok"}
    assert service.client.get("/ready").json() == {"status": "ready"}
    service.call("GET", "/v1/leads/L1/next", "rep")
    assert service.call("GET", "/metrics", "rep").status_code == 403
    text = service.call("GET", "/metrics", "admin").text
    series = 'method="GET",route="/v1/leads/{lead_id:id}/next",status="200"'
    assert f"nurture_http_requests_total{{{series}}} 1.0" in text


def test_new_events_re_decide_their_lead_in_the_background(service: Service) -> None:
    service.call("GET", "/v1/leads/L1/next", "rep")  # records a decision
    before = eventually(
        lambda: service.call("GET", "/v1/leads/L1", "rep").json()["decision"],
        until=lambda decision: decision is not None,
    )
    pricing = [
        _event(n, type="page_view", properties={"path": "/pricing", "topic": "pricing"})
        for n in range(3)
    ]
    service.call("POST", "/v1/events/batch", "ingest", json=pricing)
    after = eventually(
        lambda: service.call("GET", "/v1/leads/L1", "rep").json()["decision"],
        until=lambda decision: decision is not None and decision != before,
    )
    assert after["decided_at"] > before["decided_at"]
    assert after["total"] > before["total"]


def test_two_concurrent_decisions_one_wins_and_the_audit_matches_the_email(
    service: Service,
) -> None:
    path = f"/v1/approvals/{service.approval_id}/decision"
    draft = service.call("GET", f"/v1/approvals/{service.approval_id}", "rep").json()
    bodies = [
        {"answer": "accept"},
        {"answer": "edit", "subject": draft["subject"], "body": "Hello" + draft["body"][2:]},
    ]
    start = threading.Barrier(2)

    def decide(body: dict[str, str]) -> int:
        start.wait()
        return service.call("POST", path, "marketer", json=body).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(decide, bodies))
    assert statuses == [200, 409]
    audit = service.call("GET", f"/v1/approvals/{service.approval_id}", "rep").json()
    [message] = service.world.delivered()
    sent = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert sent.startswith(audit["final_body"][:20])  # whichever won is what went out
    assert audit["answer"] in ("accept", "edit") and audit["send"]["status"] == "sent"


def test_of_many_concurrent_answers_exactly_one_is_recorded(service: Service) -> None:
    db, clock = service.world.agent.ctx.db, service.world.agent.ctx.clock
    start = threading.Barrier(8)

    def answer(n: int) -> str:
        start.wait()
        try:
            record_answer(db, service.approval_id, answer="ignore", by=f"m{n}", at=clock())
        except NurtureError:
            return "refused"
        return f"m{n}"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(answer, range(8)))
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1
    assert get_approval(db, service.approval_id).decided_by == winners[0]


def test_items_that_are_not_objects_or_not_finite_are_rejected_one_by_one(
    service: Service,
) -> None:
    def post_raw(method: str, path: str, role: str, value: object) -> Any:
        # json.dumps writes NaN and Infinity as JavaScript does; httpx would refuse them
        headers = {**service.as_(role), "content-type": "application/json"}
        return service.client.request(method, path, content=json.dumps(value), headers=headers)

    batch: list[object] = [_event(0), "junk", None, _event(1, properties={"v": float("inf")})]
    body = post_raw("POST", "/v1/events/batch", "ingest", batch).json()
    assert [r["status"] for r in body["results"]] == ["stored", "rejected", "rejected", "rejected"]
    assert "finite" in body["results"][3]["reason"]
    nan_lead = {"id": "N2", "email": "n2@x.example", "attributes": {"employees": float("nan")}}
    leads = [{"id": "N1", "email": "n1@x.example"}, 7, nan_lead]
    body = post_raw("POST", "/v1/leads", "marketer", leads).json()
    assert [r["status"] for r in body["results"]] == ["stored", "rejected", "rejected"]
    put = post_raw(
        "PUT", "/v1/leads/N3", "marketer", {k: v for k, v in nan_lead.items() if k != "id"}
    )
    assert put.status_code == 422
    # nothing unreadable was stored: the list and the lead still answer
    assert service.call("GET", "/v1/leads", "rep").status_code == 200
    assert service.call("GET", "/v1/leads/L1/next", "rep").status_code == 200
    assert service.call("GET", "/v1/leads/N3", "rep").status_code == 404


def test_the_sweep_re_decides_leads_whose_decision_went_stale_with_time(service: Service) -> None:
    service.call("GET", "/v1/leads/L1/next", "rep")
    read = lambda: service.call("GET", "/v1/leads/L1", "rep").json()["decision"]  # noqa: E731
    fresh = eventually(read, until=lambda decision: decision is not None)
    state = service.client.app.state.service  # type: ignore[attr-defined]
    assert state.jobs.sweeper.sweep() == 0  # nothing is stale yet
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    with state.agent.ctx.db.session() as session:
        session.execute(update(LeadDecisionRow).values(decided_at=two_days_ago))
    assert state.jobs.sweeper.sweep() == 1
    swept = eventually(read, until=lambda decision: decision["decided_at"] > fresh["decided_at"])
    assert swept["decided_at"] > fresh["decided_at"]
