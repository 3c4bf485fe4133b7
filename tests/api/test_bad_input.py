"""Bad input at the API (issue #10, items 1-4): lone UTF-16 surrogates and NUL are refused per
item with a reason, 422 bodies echo only an excerpt, unreadable bodies are a 400 with the reason,
a 500 is JSON with a request id that is also logged, and lead ids cannot shadow routes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from api.main import create_app
from tests.utils.serve import serve
from tests.utils.service import Service

SURROGATE = "\ud800"


def post_raw(service: Service, method: str, path: str, role: str, value: object) -> Any:
    """JSON as a client may send it: json.dumps writes a lone surrogate as the escape
    `\\ud800` (httpx would refuse to encode it)."""
    headers = {**service.as_(role), "content-type": "application/json"}
    return service.client.request(method, path, content=json.dumps(value), headers=headers)


def event(event_id: str, **overrides: object) -> dict[str, object]:
    return {
        "id": event_id,
        "lead_id": "L1",
        "type": "page_view",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "properties": {"path": "/blog/routing"},
    } | overrides


def reasons(body: dict[str, Any]) -> dict[int, str]:
    return {r["index"]: r["reason"] for r in body["results"] if r["status"] == "rejected"}


def test_a_lone_surrogate_in_an_event_is_refused_and_the_lead_stays_readable(
    service: Service,
) -> None:
    single = post_raw(
        service, "POST", "/v1/events", "ingest", event("s1", properties={"path": "/" + SURROGATE})
    )
    assert single.status_code == 422, single.text
    [problem] = single.json()["detail"]
    assert problem["loc"] == ["body", "properties"] and "surrogate" in problem["msg"]
    batch = [
        event("ok-1"),
        event("s2", properties={"nested": {"deep": ["x", "\udc00"]}}),
        event("s3", properties={SURROGATE: "key"}),
        event("s4", type="page_view" + SURROGATE),
        event("s5" + SURROGATE),
        event("s6", lead_id="L1" + SURROGATE),
    ]
    response = post_raw(service, "POST", "/v1/events/batch", "ingest", batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["stored"] + ["rejected"] * 5
    assert all("surrogate" in reason for reason in reasons(body).values()), body
    # the rejected id is reported escaped, never as the raw surrogate
    assert body["results"][4]["id"] == "s5\\ud800"
    assert service.call("GET", "/v1/leads/L1/next", "rep").status_code == 200
    assert service.call("GET", "/leads/L1", "rep").status_code == 200


def test_a_lone_surrogate_in_a_lead_is_refused_per_item_with_a_reason(service: Service) -> None:
    batch = [
        {"id": "G1", "email": "g1@x.example", "name": "Gwen"},
        {"id": "G2", "email": "g2@x.example", "name": "Gw" + SURROGATE},
        {"id": "G3", "email": "g3@x.example", "company": SURROGATE},
        {"id": "G4", "email": "g4@x.example", "attributes": {"title": "VP" + SURROGATE}},
        {"id": "G5", "email": "g5@x.example", "attributes": {SURROGATE: "x"}},
        {"id": "G6" + SURROGATE, "email": "g6@x.example"},
        {"id": "G7", "email": "g7@x.example", SURROGATE: "unknown field"},
    ]
    response = post_raw(service, "POST", "/v1/leads", "marketer", batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["stored"] + ["rejected"] * 6
    found = reasons(body)
    assert all("surrogate" in found[i] for i in range(1, 6)), found
    assert found[1].startswith("name:") and found[4].startswith("attributes:")
    assert "\\ud800" in found[6] and "unknown field" in found[6]  # the key, escaped
    put = post_raw(service, "PUT", "/v1/leads/G8", "marketer", {"email": "g8" + SURROGATE})
    assert put.status_code == 422, put.text
    assert put.json()["detail"][0]["loc"] == ["body", "email"]
    assert "surrogate" in put.json()["detail"][0]["msg"]
    assert service.call("GET", "/v1/leads", "rep").status_code == 200


def test_a_422_with_a_surrogate_keeps_the_connection_alive(world: Any) -> None:
    """Rendering the 422 raised UnicodeEncodeError: a 500, and the next request on the same
    keep-alive connection was reset."""
    from agent.store.api_keys import create_key

    key = create_key(world.agent.ctx.db, name="m", role="marketer", at=datetime.now(UTC))
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    bad = json.dumps({"email": "not an email " + SURROGATE, "name": SURROGATE})
    with serve(create_app(world.settings)) as url, httpx.Client(base_url=url) as client:
        first = client.put("/v1/leads/K1", content=bad, headers=headers)
        assert first.status_code == 422, first.text
        assert "\\ud800" in first.text and SURROGATE not in first.json()["detail"][0]["input"]
        second = client.get("/v1/leads", headers=headers)
        assert second.status_code == 200


def test_approval_answers_and_playbooks_refuse_surrogates_and_nul(service: Service) -> None:
    path = f"/v1/approvals/{service.approval_id}/decision"
    for answer in (
        {"answer": "edit", "subject": "Hi" + SURROGATE, "body": "Body"},
        {"answer": "edit", "subject": "Hi", "body": "Bo\x00dy"},
        {"answer": "respond", "feedback": "shorter" + SURROGATE},
        {"answer": "respond", "feedback": "shorter\x00"},
    ):
        response = post_raw(service, "POST", path, "marketer", answer)
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]
        assert problem["loc"][-1] in ("subject", "body", "feedback")
        assert "surrogate" in problem["msg"] or "NUL" in problem["msg"]
    pending = service.call("GET", f"/v1/approvals/{service.approval_id}", "rep").json()
    assert pending["status"] == "pending"
    as_text = post_raw(
        service, "POST", "/v1/playbook/validate", "admin", {"yaml": "version: x" + SURROGATE}
    )
    assert as_text.status_code == 422 and as_text.json()["detail"][0]["loc"] == ["body", "yaml"]
    playbook = Path(service.world.settings.playbook).read_text()
    escaped = playbook.replace("version:", 'version: "v\\ud800"\nold_version:', 1)
    checked = service.call("POST", "/v1/playbook/validate", "admin", json={"yaml": escaped})
    assert checked.status_code == 200, checked.text
    [problem] = checked.json()["problems"]
    assert problem["path"] == "version" and problem["line"] and "surrogate" in problem["message"]
    activated = service.call("POST", "/v1/playbook/activate", "admin", json={"yaml": escaped})
    assert activated.status_code == 422


def test_a_422_echoes_only_an_excerpt_of_a_huge_input(service: Service) -> None:
    huge = "x" * 1_000_000
    response = service.call(
        "PUT", "/v1/leads/H1", "marketer", json={"email": "h1@x.example", "name": huge}
    )
    assert response.status_code == 422
    assert len(response.content) < 2_000, len(response.content)
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "name"]
    assert problem["input"].startswith("x" * 100) and "1,000,000 characters" in problem["input"]
    # a missing field echoes the whole object: that is cut too
    missing = service.call(
        "POST",
        f"/v1/approvals/{service.approval_id}/decision",
        "marketer",
        json={"answer": "edit", "subject": huge},
    )
    assert missing.status_code == 422 and len(missing.content) < 2_000


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"[" * 1000 + b"]" * 1000, "nested", id="nesting"),
        pytest.param(b'{"lead_id": ' + b"7" * 5000 + b"}", "digits", id="long-number"),
        pytest.param(b'{"lead_id": "L1", "type": "\xff\xfe"}', "UTF-8", id="invalid-utf8"),
    ],
)
def test_an_unreadable_body_is_a_400_with_the_reason(
    service: Service, content: bytes, reason: str
) -> None:
    headers = {**service.as_("ingest"), "content-type": "application/json"}
    response = service.client.post("/v1/events", content=content, headers=headers)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert reason in detail and "There was an error parsing the body" not in detail


def test_deep_but_readable_json_is_refused_per_item(service: Service) -> None:
    deep: object = "leaf"
    for _ in range(900):
        deep = [deep]
    response = post_raw(
        service,
        "POST",
        "/v1/events/batch",
        "ingest",
        [event("ok"), event("deep", properties={"x": deep})],
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["stored", "rejected"]
    assert "nested" in response.json()["results"][1]["reason"]


def test_a_500_is_json_with_a_request_id_that_is_in_the_log(
    world: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from agent.store.api_keys import create_key

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr("api.routes.leads.list_leads", broken)
    key = create_key(world.agent.ctx.db, name="r", role="rep", at=datetime.now(UTC))
    headers = {"Authorization": f"Bearer {key}"}
    with (
        caplog.at_level(logging.ERROR),
        serve(create_app(world.settings)) as url,
        httpx.Client(base_url=url) as client,
    ):
        response = client.get("/v1/leads", headers=headers)
        after = client.get("/health")  # the same keep-alive connection
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "request_id"} and body["request_id"]
    assert response.headers["x-request-id"] == body["request_id"]
    assert "disk is on fire" not in response.text  # the log has it, the client does not
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info and "disk is on fire" in str(logged[0].exc_info[1])
    assert after.status_code == 200


def test_every_response_carries_a_request_id(service: Service) -> None:
    ids = {
        service.client.get("/health").headers.get("x-request-id"),
        service.call("GET", "/v1/leads", None).headers.get("x-request-id"),
        service.call("GET", "/v1/leads/nobody", "rep").headers.get("x-request-id"),
    }
    assert None not in ids and len(ids) == 3
    given = service.client.get("/health", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    for junk in ("x" * 200, "two words", "tab\there"):
        echoed = service.client.get("/health", headers={"X-Request-ID": junk})
        assert echoed.headers["x-request-id"] not in (junk, "")


def test_the_schema_declares_400_and_500_where_routes_answer_them() -> None:
    paths = create_app().openapi()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "500" in responses, (method, path)
            schema = responses["500"]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ServerErrorOut")
            if "requestBody" in operation:
                assert "400" in responses, (method, path)


def test_ids_that_would_shadow_a_route_are_refused(service: Service) -> None:
    lead = {"email": "s@x.example"}
    for path in ("/v1/leads/a%2Fnext", "/v1/leads/x/drafts", "/v1/leads/acme%2Fhistory"):
        response = service.call("PUT", path, "marketer", json=lead)
        assert response.status_code == 422, (path, response.text)
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["path", "lead_id"] and "reserved" in problem["msg"], problem
    assert service.call("GET", "/v1/leads/a%2Fnext", "rep").status_code == 404
    assert service.call("GET", "/v1/leads/x%2Fdrafts", "rep").status_code == 404
    batch = [
        {"id": "acme/42", "email": "a@x.example"},
        {"id": "acme/sends", "email": "b@x.example"},
        {"id": "next/acme", "email": "c@x.example"},  # only the last segment can shadow
        {"id": "acme/timeline", "email": "d@x.example"},
    ]
    body = service.call("POST", "/v1/leads", "marketer", json=batch).json()
    assert [r["status"] for r in body["results"]] == ["stored", "rejected", "stored", "rejected"]
    assert "reserved" in body["results"][1]["reason"]
    assert service.call("GET", "/v1/leads/next%2Facme", "rep").json()["id"] == "next/acme"


def route_paths(routes: list[Any], prefix: str = "") -> list[str]:
    """Every route's path; FastAPI 0.165 nests included routers (`original_router`)."""
    paths = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            paths += route_paths(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            paths.append(prefix + route.path)
    return paths


def test_every_lead_sub_resource_route_name_is_reserved() -> None:
    from agent.store.lead_ids import RESERVED_LEAD_SUFFIXES

    names = set()
    for path in route_paths(create_app().routes):
        for prefix in ("/v1/leads/{lead_id:id}/", "/leads/{lead_id:id}/"):
            if path.startswith(prefix):
                names.add(path.removeprefix(prefix).split("/")[0])
    assert names >= {"next", "drafts", "sends"}  # the walk still finds today's routes
    assert names <= RESERVED_LEAD_SUFFIXES, names - RESERVED_LEAD_SUFFIXES
    assert {"handoffs", "account", "timeline", "history", "experiments"} <= RESERVED_LEAD_SUFFIXES
