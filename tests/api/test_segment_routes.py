"""The Segment Tracking API under /segment: what a Segment (or RudderStack, Jitsu) pipeline
posts, one message per route or many in /v1/batch, with the write key in HTTP Basic auth as
the user name. Leads and events land as our own API would store them; what cannot be stored is
kept (anonymous events, until identify or alias names their lead) or recorded as a rejection,
since Segment clients never read the body of a 200."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.settings import Settings
from agent.store import Database
from agent.store.api_keys import ROLES, create_key
from agent.store.schema import EventRow
from api.main import create_app

FAILURE_LIMIT = 3


@dataclass
class Segment:
    client: TestClient
    db: Database
    keys: dict[str, str]

    def post(self, route: str, body: Any, key: str | None = None) -> Any:
        return self.client.post(f"/segment/v1/{route}", json=body, headers=self.auth(key))

    def post_bytes(self, route: str, content: bytes, **headers: str) -> Any:
        """A body as the client wrote it (gzipped, or not JSON at all), with the ingest key."""
        sent = {**self.auth(None), "Content-Type": "application/json", **headers}
        return self.client.post(f"/segment/v1/{route}", content=content, headers=sent)

    def auth(self, key: str | None) -> dict[str, str]:
        write_key = self.keys["ingest"] if key is None else key
        user = base64.b64encode(f"{write_key}:".encode()).decode()  # the key as user name
        return {"Authorization": f"Basic {user}"}

    def lead(self, lead_id: str) -> Any:
        answer = self.client.get(
            f"/v1/leads/{lead_id}", headers={"Authorization": f"Bearer {self.keys['admin']}"}
        )
        return answer.json() if answer.status_code == 200 else None

    def events(self, lead_id: str) -> list[EventRow]:
        with self.db.session() as session:
            query = select(EventRow).where(EventRow.lead_id == lead_id).order_by(EventRow.id)
            return list(session.scalars(query))


@pytest.fixture
def segment(settings: Settings) -> Iterator[Segment]:
    settings = settings.model_copy(update={"auth_failures_per_minute": FAILURE_LIMIT})
    assert settings.database_url is not None
    db = Database(settings.database_url)
    db.migrate()
    now = datetime.now(UTC)
    keys: dict[str, str] = {
        role: create_key(db, name=f"{role}-1", role=role, at=now) for role in ROLES
    }
    with TestClient(create_app(settings)) as client:
        yield Segment(client, db, keys)


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


DANA_TRAITS = {
    "email": "Dana@Northwind.example",
    "firstName": "Dana",
    "lastName": "Reyes",
    "company": "Northwind Freight",
    "title": "VP Operations",
    "industry": "logistics",
    "employees": 250,
    "plan": "pro",
}


def identify(message_id: str = "m-identify", **fields: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": "dana",
        "traits": DANA_TRAITS,
        "timestamp": ago(30),
        **fields,
    }


def message(kind: str, message_id: str, minutes_ago: float | None = None, **fields: Any) -> Any:
    """A Segment message of `kind` (with its timestamp when `minutes_ago` is given)."""
    stamp = {} if minutes_ago is None else {"timestamp": ago(minutes_ago)}
    return {"type": kind, "messageId": message_id, **fields, **stamp}


def test_identify_makes_traits_lead_fields_and_attributes(segment: Segment) -> None:
    answer = segment.post("identify", identify())
    assert answer.status_code == 200, answer.text
    lead = segment.lead("dana")
    assert lead is not None
    assert lead["email"].lower() == "dana@northwind.example"
    assert lead["name"] == "Dana Reyes"
    assert lead["company"] == "Northwind Freight"
    assert lead["attributes"]["title"] == "VP Operations"
    assert lead["attributes"]["industry"] == "logistics"
    assert lead["attributes"]["employees"] == 250
    assert lead["attributes"]["plan"] == "pro"

    # a later identify with some traits keeps what it does not mention
    later = identify("m-identify-2", traits={"title": "COO"})
    assert segment.post("identify", later).status_code == 200
    lead = segment.lead("dana")
    assert lead["attributes"]["title"] == "COO"
    assert lead["attributes"]["industry"] == "logistics"
    assert lead["name"] == "Dana Reyes"


def test_track_maps_the_event_name_to_a_signal_and_message_id_is_the_event_id(
    segment: Segment,
) -> None:
    segment.post("identify", identify())
    demo = {
        "type": "track",
        "messageId": "m-demo",
        "userId": "dana",
        "event": "Demo Requested",
        "properties": {"form": "contact-sales"},
        "timestamp": ago(5),
    }
    assert segment.post("track", demo).status_code == 200
    assert segment.post("track", demo).status_code == 200  # a retried flush
    events = segment.events("dana")
    assert [(e.id, e.type, e.signal) for e in events] == [
        ("m-demo", "Demo Requested", "demo_request")
    ]
    assert events[0].properties["form"] == "contact-sales"


def test_track_finds_the_lead_by_the_email_in_its_traits(segment: Segment) -> None:
    segment.post("identify", identify())
    webinar = message(
        "track",
        "m-webinar",
        5,
        anonymousId="a-unknown",
        event="Webinar Attended",
        context={"traits": {"email": "DANA@northwind.EXAMPLE"}},
    )
    assert segment.post("track", webinar).status_code == 200
    assert [e.signal for e in segment.events("dana")] == ["webinar_attended"]


def test_page_is_a_page_view_with_its_url_and_path(segment: Segment) -> None:
    segment.post("identify", identify())
    page = {
        "type": "page",
        "messageId": "m-page",
        "userId": "dana",
        "name": "Pricing",
        "properties": {
            "url": "https://routewise.example/pricing?utm_source=newsletter",
            "title": "Pricing - RouteWise",
        },
        "timestamp": ago(3),
    }
    assert segment.post("page", page).status_code == 200
    [event] = segment.events("dana")
    assert event.type == "page_view"
    assert event.signal == "pricing_page_view"
    assert event.properties["path"] == "/pricing"
    assert event.properties["url"] == "https://routewise.example/pricing?utm_source=newsletter"
    assert event.properties["title"] == "Pricing - RouteWise"


def test_a_page_view_sent_before_identify_under_an_anonymous_id_ends_up_on_the_lead(
    segment: Segment,
) -> None:
    early = {
        "type": "page",
        "messageId": "m-anon-page",
        "anonymousId": "anon-42",
        "properties": {"url": "https://routewise.example/compare/acme"},
        "timestamp": ago(60),
    }
    assert segment.post("page", early).status_code == 200
    assert segment.lead("dana") is None  # no lead yet: the event waits, it is not dropped

    assert segment.post("identify", identify(anonymousId="anon-42")).status_code == 200
    [event] = segment.events("dana")
    assert (event.id, event.signal) == ("m-anon-page", "comparison_page_view")

    # a later page under the same anonymous id goes straight to the lead
    later = {**early, "messageId": "m-anon-page-2", "timestamp": ago(1)}
    segment.post("page", later)
    assert [e.id for e in segment.events("dana")] == ["m-anon-page", "m-anon-page-2"]


def test_alias_attaches_anonymous_events_to_the_lead(segment: Segment) -> None:
    segment.post("identify", identify())
    roi = message("track", "m-roi", 10, anonymousId="anon-7", event="ROI Calculator Used")
    segment.post("track", roi)
    assert segment.events("dana") == []
    alias = {"type": "alias", "messageId": "m-alias", "previousId": "anon-7", "userId": "dana"}
    assert segment.post("alias", alias).status_code == 200
    assert [e.signal for e in segment.events("dana")] == ["roi_calculator_used"]


def test_batch_keeps_the_valid_messages_and_records_the_rejected_ones(segment: Segment) -> None:
    batch = {
        "batch": [
            identify(),
            message("track", "m-nonsense", 2, userId="dana", event="Spaceship Launched"),
            {"type": "track", "messageId": "m-bad-event", "userId": "dana", "event": 42},
            {
                "type": "track",
                "messageId": "m-whitepaper",
                "userId": "dana",
                "event": "Whitepaper Downloaded",
                "properties": {"topic": "route optimisation"},
                "timestamp": ago(1),
            },
        ],
        "sentAt": ago(0),
    }
    answer = segment.post("batch", batch)
    assert answer.status_code == 200, answer.text
    assert [e.signal for e in segment.events("dana")] == ["whitepaper_download"]

    admin = {"Authorization": f"Bearer {segment.keys['admin']}"}
    listed = segment.client.get("/v1/ingest/rejections", headers=admin)
    assert listed.status_code == 200, listed.text
    by_message = {r["message_id"]: r for r in listed.json()}
    assert set(by_message) == {"m-nonsense", "m-bad-event"}
    assert by_message["m-nonsense"]["reason_code"] == "unmapped_event"
    assert "Spaceship Launched" in by_message["m-nonsense"]["reason"]
    assert by_message["m-bad-event"]["reason_code"] == "invalid_message"
    assert "event" in by_message["m-bad-event"]["reason"]

    # the same batch again records nothing twice
    segment.post("batch", batch)
    assert len(segment.client.get("/v1/ingest/rejections", headers=admin).json()) == 2
    metrics = segment.client.get("/metrics", headers=admin).text
    assert 'nurture_ingest_rejections{reason="unmapped_event",source="segment"} 1.0' in metrics
    assert 'nurture_ingest_rejections{reason="invalid_message",source="segment"} 1.0' in metrics


def test_gzipped_batches_are_read(segment: Segment) -> None:
    # rudder-sdk-python gzips by default; segment's client does when asked
    body = gzip.compress(json.dumps({"batch": [identify()]}).encode())
    answer = segment.post_bytes("batch", body, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert segment.lead("dana") is not None


def test_a_bad_write_key_is_401_and_counts_towards_the_failure_limit(segment: Segment) -> None:
    statuses = [
        segment.post("track", {"type": "track"}, key=f"nk_{n:012x}_wrong").status_code
        for n in range(FAILURE_LIMIT + 1)
    ]
    assert statuses == [401] * FAILURE_LIMIT + [429]
    assert segment.post("identify", identify()).status_code == 200  # a valid key still passes


def test_only_ingest_and_admin_keys_may_write(segment: Segment) -> None:
    assert segment.post("identify", identify(), key=segment.keys["rep"]).status_code == 403
    assert segment.post("identify", identify(), key=segment.keys["admin"]).status_code == 200


def test_a_body_that_is_not_json_is_400_naming_why(segment: Segment) -> None:
    answer = segment.post_bytes("batch", b"{not json")
    assert answer.status_code == 400
    assert "JSON" in answer.text


def test_errors_carry_segment_code_and_message(segment: Segment) -> None:
    # rudder-sdk-python reads `code`: without it a 401 looks like a network failure, retried
    answer = segment.post("track", {"type": "track"}, key="nk_000000000000_wrong")
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert "write key" in answer.json()["message"]
