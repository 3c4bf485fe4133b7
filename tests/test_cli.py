"""The `nurture` command line, run in-process through its real entry point."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.settings import DEFAULT_PLAYBOOK
from tests.utils.cli import run_nurture

NOW = datetime.now(UTC)


run = run_nurture


def write_jsonl(path: Path, lines: Sequence[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


@pytest.fixture
def imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:  # noqa: ANN001
    leads = write_jsonl(
        tmp_path / "leads.jsonl",
        [
            {
                "id": "L1",
                "email": "dana@northwind.example",
                "name": "Dana Reyes",
                "company": "Northwind",
                "attributes": {
                    "industry": "software",
                    "employees": 250,
                    "title": "Director of Operations",
                },
            },
            {"id": "L2", "email": "sam@contoso.example", "attributes": {"industry": "retail"}},
        ],
    )
    events = write_jsonl(
        tmp_path / "events.jsonl",
        [
            {
                "id": "e1",
                "lead_id": "L1",
                "type": "whitepaper_download",
                "occurred_at": (NOW - timedelta(days=10)).isoformat(),
                "properties": {"topic": "routing"},
            },
            {
                "id": "e2",
                "lead_id": "L1",
                "type": "demo_request",
                "occurred_at": (NOW - timedelta(days=2)).isoformat(),
            },
        ],
    )
    assert run(monkeypatch, capsys, "import", "leads", str(leads))[0] == 0
    assert run(monkeypatch, capsys, "import", "events", str(events))[0] == 0
    return tmp_path


def test_playbook_check_accepts_the_default(monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, _ = run(monkeypatch, capsys, "playbook", "check", str(DEFAULT_PLAYBOOK))
    assert code == 0
    assert out.startswith("ok ")


def test_playbook_check_reports_path_and_line(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    bad = tmp_path / "pb.yaml"
    bad.write_text(DEFAULT_PLAYBOOK.read_text().replace("hot_threshold: 70", "hot_threshold: hi"))
    code, out, err = run(monkeypatch, capsys, "playbook", "check", str(bad))
    assert code == 2
    assert f"{bad}:" in err and "scoring.hot_threshold" in err
    assert "Traceback" not in out + err


def test_import_reports_rejected_lines_and_keeps_valid_ones(
    tmp_path: Path,
    monkeypatch,
    capsys,  # noqa: ANN001
) -> None:
    leads = write_jsonl(
        tmp_path / "leads.jsonl",
        [
            {"id": "L1", "email": "dana@northwind.example"},
            "{not json",
            {"id": "L2", "email": "nope"},
            {"id": "L3", "email": "lee@fabrikam.example"},
        ],
    )
    code, out, _ = run(monkeypatch, capsys, "import", "leads", str(leads))
    assert code == 1
    assert "2 leads stored, 0 already there, 2 rejected" in out
    assert "│ 2    │ not valid JSON" in out
    assert "│ 3    │ email: value is not a valid email address" in out
    code, out, _ = run(monkeypatch, capsys, "next", "L3", "--json")
    assert code == 0


def test_import_events_from_csv(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    write_jsonl(tmp_path / "leads.jsonl", [{"id": "L1", "email": "dana@northwind.example"}])
    run(monkeypatch, capsys, "import", "leads", str(tmp_path / "leads.jsonl"))
    csv = tmp_path / "events.csv"
    when = (NOW - timedelta(days=1)).isoformat()
    csv.write_text(
        "id,lead_id,type,occurred_at,path,properties\n"
        f"c1,L1,page_view,{when},/pricing,\n"
        f"c2,L1,page_view,{when},/pricing/teams,\n"
        f"c3,L1,page_view,2026-01-01 10:00,/blog/x,\n"
        f'c4,L1,whitepaper_download,{when},,"{{""topic"": ""routing""}}"\n'
    )
    code, out, _ = run(monkeypatch, capsys, "import", "events", str(csv))
    assert code == 1
    assert "3 events stored" in out
    assert "│ 4    │ occurred_at: Input should have timezone info" in out
    code, out, _ = run(monkeypatch, capsys, "next", "L1", "--json")
    decision = json.loads(out)
    assert decision["action"] == "handoff_to_sales"
    assert decision["reasons"][0]["rule"] == "handoff.pricing_twice"


def test_next_json_has_the_documented_shape(imported: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, _ = run(monkeypatch, capsys, "next", "L1", "--json")
    assert code == 0
    decision = json.loads(out)
    assert set(decision) == {
        "lead_id",
        "at",
        "stage",
        "action",
        "wait_until",
        "score",
        "content",
        "reasons",
        "account",
    }
    assert decision["account"] is None  # set only when the lead's account changed the decision
    assert set(decision["score"]) == {"attribute", "behaviour", "total", "hot", "contributions"}
    assert set(decision["score"]["contributions"][0]) == {
        "event_id",
        "type",
        "points",
        "decay",
        "value",
    }
    assert (decision["stage"], decision["action"]) == ("decision", "handoff_to_sales")
    assert decision["reasons"][0] == {
        "rule": "handoff.demo_request",
        "text": decision["reasons"][0]["text"],
    }


def test_next_at_replays_the_past(imported: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    before_demo = (NOW - timedelta(days=5)).isoformat()
    code, out, _ = run(monkeypatch, capsys, "next", "L1", "--at", before_demo, "--json")
    decision = json.loads(out)
    assert [c["event_id"] for c in decision["score"]["contributions"]] == ["e1"]
    assert decision["action"] == "send_email"
    assert decision["content"]["kinds"] == ["case_study"]
    assert decision["content"]["topic"] == "routing"


def test_next_as_a_table(imported: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, _ = run(monkeypatch, capsys, "next", "L1")
    assert code == 0
    assert "handoff_to_sales" in out and "handoff.demo_request" in out and "Dana Reyes" in out


def test_scores_lists_hot_leads(imported: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, _ = run(monkeypatch, capsys, "scores")
    assert code == 0
    assert "2 leads re-scored" in out and "0 hot" in out
    lower = imported / "pb.yaml"
    lower.write_text(DEFAULT_PLAYBOOK.read_text().replace("hot_threshold: 70", "hot_threshold: 50"))
    code, out, _ = run(monkeypatch, capsys, "scores", "--playbook", str(lower))
    assert "1 hot" in out and "L1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["next", "nobody"], "error: no lead with id 'nobody'"),
        (["next", "L1", "--at", "yesterday"], "'yesterday' is not an ISO 8601 time"),
        (["next", "L1", "--at", "2026-11-01T10:00"], "has no time zone"),
        (["import", "leads", "missing.jsonl"], "error: no such file: missing.jsonl"),
        (["import", "leads", "leads.xlsx"], "unknown file type '.xlsx'"),
        (["next", "L1", "--playbook", "nope.yaml"], "error: cannot read playbook nope.yaml"),
    ],
)
def test_bad_input_gives_one_clear_line(
    imported: Path,
    monkeypatch,
    capsys,
    args: list[str],
    message: str,  # noqa: ANN001
) -> None:
    monkeypatch.chdir(imported)
    (imported / "leads.xlsx").write_text("x")
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_an_unreachable_database_is_one_line(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("NURTURE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = run(monkeypatch, capsys, "next", "L1")
    assert code == 2
    assert err.startswith("error: cannot reach the database at postgresql+psycopg://nobody@")
    assert "Traceback" not in err


def test_keys_create_list_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.store.api_keys import authenticate
    from cli.common import open_database

    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    code, out, _ = run(monkeypatch, capsys, "keys", "create", "--name", "crm", "--role", "ingest")
    assert code == 0
    key = out.strip().splitlines()[-1]
    principal = authenticate(open_database(), key)
    assert principal is not None and (principal.name, principal.role) == ("crm", "ingest")
    code, out, _ = run(monkeypatch, capsys, "keys", "list")
    assert code == 0 and principal.key_id in out and "ingest" in out
    assert key.split("_", 2)[2] not in out  # the secret is never shown again
    assert run(monkeypatch, capsys, "keys", "revoke", principal.key_id)[0] == 0
    assert authenticate(open_database(), key) is None
    code, _, err = run(monkeypatch, capsys, "keys", "revoke", "nope")
    assert code == 2 and "no API key with id 'nope'" in err
    code, _, err = run(monkeypatch, capsys, "keys", "create", "--name", "x", "--role", "boss")
    assert code == 2 and "not a role" in err


def test_playbook_activate_puts_a_version_in_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    candidate = tmp_path / "playbook.yaml"
    candidate.write_text(
        DEFAULT_PLAYBOOK.read_text().replace('version: "default-2026.11"', "version: cli-test-2", 1)
    )
    code, out, err = run(monkeypatch, capsys, "playbook", "activate", str(candidate))
    assert code == 0, err
    assert "cli-test-2" in out
    code, out, _ = run(monkeypatch, capsys, "playbook", "active")
    assert code == 0 and "cli-test-2" in out


def test_demo_without_serving_ends_with_drafts_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    code, out, err = run(monkeypatch, capsys, "demo", "--leads", "30", "--no-serve")
    assert code == 0, err
    assert "drafts are waiting for approval" in out and "offline template drafter" in out
    assert "demo marketer key" not in out
    # every command it suggests names the nurture that ran, pasteable into a fresh shell
    serve = re.search(r"\((\S+) serve, then /inbox\)", " ".join(out.split()))
    assert serve and serve.group(1).endswith("nurture") and serve.group(1) != "nurture", out
    assert f"{serve.group(1)} inbox and {serve.group(1)} review ID" in " ".join(out.split())
    from email import message_from_bytes

    from agent.store.approvals import pending
    from agent.store.handoffs import list_handoffs
    from cli.common import open_database

    db = open_database()
    assert pending(db)
    # hand-offs wait for sales, and only their reps were told: no lead was emailed
    waiting = list_handoffs(db, state="delivered")
    assert waiting and f"{len(waiting)} hand-offs wait for sales" in " ".join(out.split())
    told = [message_from_bytes(f.read_bytes())["To"] for f in (tmp_path / "outbox").iterdir()]
    assert sorted(told) == sorted(str(h.row.assigned_to) for h in waiting)
    assert set(told) <= {"riley@routewise.example", "sam@routewise.example"}


def test_the_demo_suggests_a_command_that_works_in_a_fresh_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`Try: nurture next …` fails where the venv is not active: what it prints must run as
    pasted into a new shell (a bare PATH) in the same folder."""
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    code, out, err = run(monkeypatch, capsys, "demo", "--leads", "8", "--no-serve")
    assert code == 0, err
    found = re.search(r"Try: (.+? next (\S+))", out)
    assert found, out
    fresh_shell = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "NURTURE_DATA_DIR": str(tmp_path),
    }
    pasted = subprocess.run(
        ["bash", "-c", found.group(1)],
        env=fresh_shell,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert pasted.returncode == 0, (found.group(1), pasted.stderr)
    assert f"{found.group(2)} · " in pasted.stdout  # the decision for that lead, shown
