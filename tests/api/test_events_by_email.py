"""The API's event ingest shares the store's: an event may name its lead by address."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.utils.service import Service


def _decision(service: Service, until: Callable[[Any], bool]) -> Any:
    deadline = time.monotonic() + 20
    decision = service.call("GET", "/v1/leads/L1", "rep").json()["decision"]
    while not until(decision) and time.monotonic() < deadline:
        time.sleep(0.05)
        decision = service.call("GET", "/v1/leads/L1", "rep").json()["decision"]
    return decision


def test_events_name_their_lead_by_address_and_re_decide_it(service: Service) -> None:
    service.call("GET", "/v1/leads/L1/next", "rep")  # records a decision
    before = _decision(service, until=lambda d: d is not None)
    at = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    url = "https://routewise.example/pricing?utm_source=newsletter"
    batch = [
        {
            "lead_email": "DANA@northwind.example",
            "type": "page_view",
            "occurred_at": at,
            "properties": {"path": url},
        },
        {"lead_email": "nobody@else.example", "type": "page_view", "occurred_at": at},
    ]
    body = service.call("POST", "/v1/events/batch", "ingest", json=batch).json()
    assert (body["stored"], body["rejected"]) == (1, 1)
    assert "no lead has the address 'nobody@else.example'" in body["results"][1]["reason"]
    # the lead found by its address is re-decided; the URL counts as a pricing view (10 points)
    after = _decision(service, until=lambda d: d is not None and d != before)
    assert after["total"] >= before["total"] + 9.9
