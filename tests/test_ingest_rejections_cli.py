"""`nurture ingest rejections`: the Segment messages we could not store, with the reason, since
the client that sent them got a 200 and will never say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.playbook import Playbook
from agent.segment.ingest import ingest_segment_messages
from agent.store import Database
from tests.utils.cli import run_nurture


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    monkeypatch.setenv("NURTURE_DATABASE_URL", url)
    db = Database(url)
    db.migrate()
    return db


def test_rejections_are_listed_with_message_id_reason_and_filters(
    database: Database,
    playbook: Playbook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    ingest_segment_messages(
        database,
        [
            {
                "type": "track",
                "messageId": "m-1",
                "userId": "u",
                "event": "Rocket",
                "timestamp": at,
            },
            {"type": "screen", "messageId": "m-2", "userId": "u", "name": "Home", "timestamp": at},
        ],
        playbook,
    )
    code, out, err = run_nurture(monkeypatch, capsys, "ingest", "rejections")
    assert code == 0, err
    assert "m-1" in out and "unmapped_event" in out and "'Rocket'" in out
    assert "m-2" in out and "unsupported_type" in out

    code, out, _ = run_nurture(
        monkeypatch, capsys, "ingest", "rejections", "--reason", "unsupported_type", "--json"
    )
    assert code == 0
    listed = json.loads(out)
    assert [(r["message_id"], r["kind"]) for r in listed] == [("m-2", "screen")]


def test_an_unknown_reason_is_a_usage_error(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_nurture(monkeypatch, capsys, "ingest", "rejections", "--reason", "x")
    assert code == 2
    assert "unmapped_event" in err  # the message lists the reasons there are
