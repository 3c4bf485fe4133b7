"""`GET /v1/leads/{id}/next` explains its decision (per-event contributions) unless
`?explain=false`, and the re-decision of leads after ingest never builds an explanation."""

from __future__ import annotations

from typing import Any

import pytest

import agent.scoring
from tests.api.test_routes import _event, eventually
from tests.utils.service import Service


def test_explain_false_gives_the_same_decision_without_contributions(service: Service) -> None:
    events = [_event(n) for n in range(5)]
    assert service.call("POST", "/v1/events/batch", "ingest", json=events).status_code == 200
    explained = service.call("GET", "/v1/leads/L1/next", "rep").json()
    lean = service.call("GET", "/v1/leads/L1/next", "rep", params={"explain": "false"})
    assert lean.status_code == 200, lean.text
    body = lean.json()
    assert body["score"]["contributions"] is None
    assert len(explained["score"]["contributions"]) >= 5
    same = {k: v for k, v in explained.items() if k not in ("at", "score")}
    assert {k: v for k, v in body.items() if k not in ("at", "score")} == same
    assert {k: v for k, v in body["score"].items() if k != "contributions"} == {
        k: v for k, v in explained["score"].items() if k != "contributions"
    }
    assert (
        service.call("GET", "/v1/leads/L1/next", "rep", params={"explain": "maybe"}).status_code
        == 422
    )
    parameters = service.client.get("/openapi.json").json()["paths"]["/v1/leads/{lead_id}/next"][
        "get"
    ]["parameters"]
    explain = next(p for p in parameters if p["name"] == "explain")
    assert "contributions" in explain["description"]


def test_redeciding_after_ingest_builds_no_explanation(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real = agent.scoring.behaviour_contributions

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(agent.scoring, "behaviour_contributions", counting)
    events = [
        _event(n, type="pricing_page_view", properties={"path": "/pricing"}) for n in range(8)
    ]
    before = service.call("GET", "/v1/leads/L1", "rep").json()["decision"]
    assert service.call("POST", "/v1/events/batch", "ingest", json=events).status_code == 200
    after = eventually(
        lambda: service.call("GET", "/v1/leads/L1", "rep").json()["decision"],
        until=lambda decision: decision != before,
    )
    assert after != before  # re-decided in the background
    assert built == []
