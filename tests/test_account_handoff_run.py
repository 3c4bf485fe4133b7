"""The account-level hand-off (playbook `accounts.handoff`: three contacts engaged within 14
days) end to end: `nurture run` hands the account to sales once, through its best contact, none
of them hot on its own; the webhook (a real HTTP receiver) gets it once with the buying
committee; `nurture handoffs` and GET /v1/handoffs show the account; a second run and a fourth
contact engaging while it is open hand nothing over again, and draft nothing for the account's
other contacts. Three contacts spread over 20 days hand nothing over. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.decisions import decide
from agent.playbook import load_playbook
from agent.settings import DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.handoffs import list_handoffs
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.tools.timeline import load_timeline
from api.main import create_app
from tests.conftest import POSTGRES_URL
from tests.test_cli import run
from tests.test_crm_webhook import WebhookServer
from tests.utils.replicas import fresh_postgres
from tests.utils.smtp import CollectingHandler

ACCOUNT = "orbitfreight.example"
CONTACTS = [
    ("A1", "Ada Park", "VP Operations"),
    ("A2", "Ben Ortiz", "Transport Manager"),
    ("A3", "Cam Lee", "Dispatcher"),
]


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with WebhookServer() as server:
        yield server


def _environment(
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    data: Path,
    smtp: tuple[CollectingHandler, int],
    webhook: WebhookServer,
) -> Database:
    for name, value in {
        "NURTURE_DATA_DIR": str(data),
        "NURTURE_DATABASE_URL": url,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(smtp[1]),
        "NURTURE_SMTP_STARTTLS": "false",
        "NURTURE_SALES_WEBHOOK_URL": webhook.url,
    }.items():
        monkeypatch.setenv(name, value)
    db = Database(url)
    db.migrate()
    return db


def _contact(lead_id: str, name: str, title: str) -> dict[str, Any]:
    first = name.split()[0].lower()
    return {
        "id": lead_id,
        "email": f"{first}@{ACCOUNT}",
        "name": name,
        "company": "Orbit Freight",
        "attributes": {"industry": "logistics", "employees": 420, "title": title},
    }


def _engage(
    db: Database, lead_id: str, days_ago: float, now: datetime, path: str = "/customers/acme"
) -> None:
    """A case-study read: an engaged contact (accounts.engaged_signals) worth 5 points, nowhere
    near the MQL threshold. A blog path is lead activity that does not engage."""
    at = now - timedelta(days=days_ago)
    event = {
        "id": f"{lead_id}-read-{days_ago:g}",
        "lead_id": lead_id,
        "type": "page_view",
        "occurred_at": at.isoformat(),
        "properties": {"path": path},
    }
    ingest_events(db, [event], load_playbook(DEFAULT_PLAYBOOK), now=now)


def _seed(db: Database, days_ago: list[float], path: str = "/customers/acme") -> None:
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(UTC)
    upsert_leads(db, [_contact(*c) for c in CONTACTS], playbook)
    for (lead_id, _name, _title), days in zip(CONTACTS, days_ago, strict=True):
        _engage(db, lead_id, days, now, path)
    for lead_id, _name, _title in CONTACTS:  # none would go to sales on its own
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
        alone = decide(lead, events, playbook, now)
        assert alone.action == "send_email" and not alone.score.hot, (lead_id, alone)


def _handed_over_once(
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    webhook: WebhookServer,
) -> None:
    _seed(db, [2, 6, 10])
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "1 leads" in out and "handed_off" in out, out
    [handoff] = list_handoffs(db)
    assert handoff.row.lead_id == "A1"  # the best contact: a decision maker's fit score
    assert handoff.row.rule == "accounts.handoff"
    assert "3 contacts engaged within 14 days" in handoff.row.reason
    assert handoff.row.webhook_status == "delivered" and handoff.row.state == "delivered"
    [request] = webhook.requests
    body = json.loads(request.body)
    assert body["account"] == ACCOUNT and body["rule"] == "accounts.handoff"
    committee = {c["lead_id"]: (c["name"], c["role"]) for c in body["account_contacts"]}
    assert committee == {
        "A1": ("Ada Park", "decision_maker"),
        "A2": ("Ben Ortiz", "influencer"),
        "A3": ("Cam Lee", "user"),
    }
    assert all(isinstance(c["score"], float | int) for c in body["account_contacts"])

    code, out, _ = run(monkeypatch, capsys, "handoffs")
    assert code == 0 and f"account: {ACCOUNT}" in out and "Ben Ortiz (influencer" in out, out
    with TestClient(create_app(Settings())) as client:
        key = create_key(db, name="reader", role="marketer", at=datetime.now(UTC))
        listed = client.get("/v1/handoffs", headers={"Authorization": f"Bearer {key}"}).json()
    assert [(h["lead_id"], h["account"]) for h in listed] == [("A1", ACCOUNT)]
    assert [c["lead_id"] for c in listed[0]["account_contacts"]] == ["A1", "A2", "A3"]

    # again: nothing new to hand over, and no nurture email for the account's other contacts
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "0 leads" in out, out
    # a fourth contact reads too while the account is with sales: no second hand-off
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    upsert_leads(db, [_contact("A4", "Dee Shah", "Head of Logistics")], playbook)
    _engage(db, "A4", 0.01, datetime.now(UTC))
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "0 leads" in out, out
    assert len(list_handoffs(db)) == 1 and len(webhook.requests) == 1


def _spread_out(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(db, [2, 17, 20])
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "handed_off" not in out and list_handoffs(db) == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    indexed_data: Path,
    smtp_server: tuple[CollectingHandler, int],
    webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Database]:
    """The CLI's environment on SQLite, or on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        db = _environment(
            monkeypatch, f"sqlite:///{tmp_path / 'n.db'}", indexed_data, smtp_server, webhook
        )
        yield db
        db.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("needs NURTURE_TEST_DATABASE_URL (PostgreSQL)")
    with fresh_postgres(POSTGRES_URL) as url:
        db = _environment(monkeypatch, url, indexed_data, smtp_server, webhook)
        yield db
        db.dispose()


def test_contacts_who_only_read_the_blog_are_not_handed_off(
    store: Database,
    webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three colleagues reading blog posts within a week is awareness, not a buying committee
    (the guide: opens and reads say little): their account stays in nurture."""
    _seed(store, [1, 2, 3], path="/blog/route-planning")
    code, out, err = run(monkeypatch, capsys, "run")
    assert code == 0, err
    assert "handed_off" not in out and list_handoffs(store) == [], out
    assert webhook.requests == []


def test_an_account_is_handed_off_once(
    store: Database,
    webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _handed_over_once(store, monkeypatch, capsys, webhook)


def test_contacts_engaged_over_20_days_are_not_handed_off(
    store: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _spread_out(store, monkeypatch, capsys)
