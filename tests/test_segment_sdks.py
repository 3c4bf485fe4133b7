"""Existing pipelines send to us without code: the real segment-analytics-python and
rudder-sdk-python clients, pointed at a `nurture serve` in its own process, post identify +
track + page to /v1/batch under the host they are given (Basic auth, the write key as user
name; RudderStack gzips the body). The leads and events land; flushing the same messages again
stores nothing twice; a wrong write key is answered 401."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from sqlalchemy import func, select

from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.schema import EventRow, LeadRow
from tests.utils.replicas import nurture_serve

ClientFactory = Callable[..., Any]
SDKS: dict[str, ClientFactory] = {"segment": SegmentClient, "rudderstack": RudderClient}


@dataclass
class Served:
    url: str
    db: Database
    write_key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, indexed_data: Path) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("segment-serve")
    url = f"sqlite:///{home / 'nurture.db'}"
    db = Database(url)
    db.migrate()
    key = create_key(db, name="segment", role="ingest", at=datetime.now(UTC))
    env = {**os.environ, "NURTURE_DATABASE_URL": url, "NURTURE_DATA_DIR": str(indexed_data)}
    with nurture_serve(env, home / "serve.log") as base:
        yield Served(base, db, key)


def send_journey(client: Any, sdk: str) -> None:
    """An anonymous visitor reads the pricing page, fills in the demo form, is identified."""
    now = datetime.now(UTC)
    user, anonymous = f"{sdk}-lead", f"{sdk}-anon"
    client.page(
        anonymous_id=anonymous,
        name="Pricing",
        properties={"url": "https://routewise.example/pricing?utm_source=ads"},
        timestamp=now - timedelta(minutes=20),
        message_id=f"{sdk}-page-1",
    )
    client.identify(
        user_id=user,
        anonymous_id=anonymous,
        traits={
            "email": f"dana.{sdk}@northwind.example",
            "firstName": "Dana",
            "lastName": "Reyes",
            "company": "Northwind Freight",
            "title": "VP Operations",
            "industry": "logistics",
            "employees": 250,
        },
        timestamp=now - timedelta(minutes=15),
        message_id=f"{sdk}-identify-1",
    )
    client.track(
        user_id=user,
        event="Demo Requested",
        properties={"form": "demo"},
        timestamp=now - timedelta(minutes=10),
        message_id=f"{sdk}-track-1",
    )


def counts(db: Database, sdk: str) -> tuple[int, list[tuple[str, str | None]]]:
    with db.session() as session:
        leads = session.scalar(
            select(func.count()).select_from(LeadRow).where(LeadRow.id == f"{sdk}-lead")
        )
        events = session.execute(
            select(EventRow.id, EventRow.signal)
            .where(EventRow.lead_id == f"{sdk}-lead")
            .order_by(EventRow.id)
        ).all()
    return leads or 0, [(event_id, signal) for event_id, signal in events]


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_the_real_client_lands_leads_and_events_once(served: Served, sdk: str) -> None:
    errors: list[Any] = []
    for _flush in range(2):  # the second flush sends the very same messages again
        client = SDKS[sdk](
            served.write_key,
            host=f"{served.url}/segment",
            on_error=lambda error, _batch: errors.append(error),
            max_retries=0,
        )
        send_journey(client, sdk)
        client.flush()
        client.join()
        assert errors == []
        leads, events = counts(served.db, sdk)
        assert leads == 1
        assert events == [
            (f"{sdk}-page-1", "pricing_page_view"),
            (f"{sdk}-track-1", "demo_request"),
        ]
    with served.db.session() as session:
        lead = session.get(LeadRow, f"{sdk}-lead")
        assert lead is not None
        assert (lead.name, lead.company) == ("Dana Reyes", "Northwind Freight")
        assert lead.attributes["title"] == "VP Operations"


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_the_real_client_gets_401_for_a_wrong_write_key(served: Served, sdk: str) -> None:
    errors: list[Any] = []
    client = SDKS[sdk](
        "nk_000000000000_not-a-key",
        host=f"{served.url}/segment",
        on_error=lambda error, _batch: errors.append(error),
        max_retries=0,
    )
    client.track(user_id="x", event="Demo Requested", message_id=f"{sdk}-refused")
    client.flush()
    client.join()
    assert [getattr(e, "status", None) for e in errors] == [401], errors
