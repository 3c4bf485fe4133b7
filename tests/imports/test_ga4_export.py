"""A GA4 export (BigQuery, flattened to CSV) imports with `--from ga4`: events find their lead by
the user-email column, naive local timestamps take `--timezone`, page_location URLs score by
their path, and every rejection names its line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent.store.schema import EventRow
from cli.common import open_database
from tests.utils.cli import run_nurture

GA4 = Path(__file__).parent.parent / "fixtures" / "imports" / "ga4_events.csv"
LEADS = [
    {"id": "L-dana", "email": "dana.reyes@northwind.example"},
    {"id": "L-sam", "email": "sam.ortiz@bolt-trucking.example"},
]


@pytest.fixture
def leads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "leads.jsonl"
    file.write_text("\n".join(json.dumps(lead) for lead in LEADS) + "\n")
    assert run_nurture(monkeypatch, capsys, "import", "leads", str(file))[0] == 0


def rejected_lines(out: str) -> dict[int, str]:
    return {int(n): reason.strip() for n, reason in re.findall(r"│ (\d+)\s+│ (.+?)\s*│", out)}


def stored_events() -> dict[str, tuple[str, str, datetime, dict[str, Any]]]:
    with open_database().session() as session:
        rows = session.execute(
            select(
                EventRow.id,
                EventRow.lead_id,
                EventRow.signal,
                EventRow.occurred_at,
                EventRow.properties,
            )
        ).all()
    return {
        row.id: (row.lead_id, row.signal or "", row.occurred_at, row.properties) for row in rows
    }


def test_ga4_events_import_by_email_in_berlin_time_and_score_pricing_views(
    leads: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_nurture(
        monkeypatch,
        capsys,
        "import",
        "events",
        str(GA4),
        "--from",
        "ga4",
        "--timezone",
        "Europe/Berlin",
    )
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "4 events stored, 0 already there, 3 rejected, 3 skipped" in out
    rejected = rejected_lines(out)
    assert set(rejected) == {8, 9, 10}
    assert rejected[8] == "lead_id or lead_email: one of them is required"
    assert "no lead has the address 'new.person@unknown.example'" in rejected[9]
    assert "event_timestamp: '23.11.2026 25:00' is not a date" in rejected[10]

    events = {
        (lead, signal, occurred.replace(tzinfo=UTC) if occurred.tzinfo is None else occurred): props
        for lead, signal, occurred, props in stored_events().values()
    }
    # microseconds since the epoch are UTC; the naive "2026-11-22 10:15:00" is Berlin time
    assert set(events) == {
        ("L-dana", "pricing_page_view", datetime(2026, 11, 20, 8, 30, 0, 123, tzinfo=UTC)),
        ("L-dana", "pricing_page_view", datetime(2026, 11, 22, 9, 15, tzinfo=UTC)),
        ("L-sam", "blog_view", datetime(2026, 11, 21, 7, 0, 0, 123, tzinfo=UTC)),
        ("L-sam", "site_visit", datetime(2026, 11, 21, 17, 0, tzinfo=UTC)),
    }
    newsletter = events[
        ("L-dana", "pricing_page_view", datetime(2026, 11, 20, 8, 30, 0, 123, tzinfo=UTC))
    ]
    assert newsletter["utm_campaign"] == "nov-launch"
    assert newsletter["title"] == "Pricing | Routewise"

    code, out, _ = run_nurture(
        monkeypatch, capsys, "next", "L-dana", "--json", "--at", "2026-11-23T12:00:00Z"
    )
    decision = json.loads(out)
    assert [c["type"] for c in decision["score"]["contributions"]] == ["pricing_page_view"] * 2
    assert decision["reasons"][0]["rule"] == "handoff.pricing_twice"

    # the same file again stores nothing twice; --create-leads takes the unknown address in
    code, out, _ = run_nurture(
        monkeypatch,
        capsys,
        "import",
        "events",
        str(GA4),
        "--from",
        "ga4",
        "--timezone",
        "Europe/Berlin",
        "--create-leads",
    )
    assert "1 events stored, 4 already there, 2 rejected, 3 skipped" in out
    assert "1 lead created" in out


def test_naive_timestamps_without_a_zone_are_rejected_by_line(
    leads: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_nurture(monkeypatch, capsys, "import", "events", str(GA4), "--from", "ga4")
    assert code == 1
    rejected = rejected_lines(out)
    assert "event_timestamp: '2026-11-22 10:15:00' has no time zone" in rejected[4]
    assert "--timezone" in rejected[4]
    assert "2 events stored" in out


def test_a_mapping_names_the_email_column_on_top_of_the_preset(
    tmp_path: Path, leads: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = tmp_path / "ga4.csv"
    renamed.write_text(GA4.read_text().replace(",user_email\n", ",customer_email\n", 1))
    mapping = tmp_path / "email.yaml"
    mapping.write_text("kind: events\nfields:\n  lead_email: {column: customer_email}\n")
    code, out, _ = run_nurture(
        monkeypatch,
        capsys,
        "import",
        "events",
        str(renamed),
        "--from",
        "ga4",
        "--mapping",
        str(mapping),
        "--timezone",
        "Europe/Berlin",
    )
    assert "4 events stored, 0 already there, 3 rejected, 3 skipped" in out
