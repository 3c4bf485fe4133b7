"""Files holding text the store cannot keep (issue #10, items 1, 2, 4): a playbook whose YAML
escapes spell a lone surrogate or NUL, and import files (JSONL, CSV) with lone surrogates,
invalid UTF-8 or ids that would shadow a route. Each problem is named with its place; the
valid lines of an import are kept; nothing ends in a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.playbook import PlaybookError, load_playbook, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK
from tests.utils.cli import run_nurture

DEFAULT_TEXT = DEFAULT_PLAYBOOK.read_text()
WHEN = (datetime.now(UTC) - timedelta(days=1)).isoformat()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("escape", "shown", "word"),
    [("\\ud800", "\\ud800", "surrogate"), ("\\0", "\\x00", "NUL")],
)
def test_a_playbook_string_spelling_bad_text_is_a_problem_with_path_and_line(
    escape: str, shown: str, word: str
) -> None:
    old = "hot_threshold: 70"
    assert DEFAULT_TEXT.count(old) == 1
    text = DEFAULT_TEXT.replace(old, f'{old}\n  "bad{escape}key": 1', 1)
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text, source="pb.yaml")
    [problem] = caught.value.problems
    assert problem.line == line_of(text, "bad\\")
    assert problem.path == f"scoring.bad{shown}key"
    assert word in problem.message
    rendered = str(caught.value)
    rendered.encode("utf-8")  # printable: no raw surrogate left in the message


def test_a_playbook_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_bytes(DEFAULT_TEXT.encode().replace(b"hot_threshold: 70", b"hot_threshold: \xff"))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    assert "UTF-8" in str(caught.value) and caught.value.problems[0].line == line_of(
        DEFAULT_TEXT, "hot_threshold: 70"
    )


def test_import_refuses_bad_text_per_line_and_keeps_the_rest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [
        json.dumps({"id": "L1", "email": "l1@x.example"}).encode(),
        json.dumps({"id": "L2", "email": "l2@x.example", "name": "Gw\ud800en"}).encode(),
        json.dumps({"id": "L3", "email": "l3@x.example", "attributes": {"\udc00": 1}}).encode(),
        b'{"id": "L4", "email": "l4@x.example", "name": "\xff\xfe"}',
        json.dumps({"id": "L5", "email": "l5@x.example", "company": "A\x00"}).encode(),
        json.dumps({"id": "L6/history", "email": "l6@x.example"}).encode(),
        json.dumps({"id": "L7", "email": "l7@x.example"}).encode(),
    ]
    leads = tmp_path / "leads.jsonl"
    leads.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run_nurture(monkeypatch, capsys, "import", "leads", str(leads))
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "2 leads stored, 0 already there, 5 rejected" in out
    assert "│ 2    │ name: Value error, must not contain a lone UTF-16 surrogate" in out
    assert "│ 3    │ attributes:" in out and "surrogate" in out
    assert "│ 4    │ not valid UTF-8" in out
    assert "│ 5    │ company: Value error, must not contain NUL" in out
    assert "│ 6    │ id: Value error, the last '/'-segment 'history' is reserved" in out

    events = tmp_path / "events.csv"
    events.write_bytes(
        b"id,lead_id,type,occurred_at,path,properties\n"
        + f"c1,L1,page_view,{WHEN},/pricing,\n".encode()
        + f'c2,L1,page_view,{WHEN},,"{{""topic"": ""x\\ud800""}}"\n'.encode()
        + f"c3,L1,page_view,{WHEN},/caf\xe9,\n".encode("latin-1")
        # a UTF-8 character elsewhere: the file is UTF-8 with one bad line (a file with no
        # UTF-8 character at all would be read as cp1252, as Excel writes it)
        + f"c4,L1,page_view,{WHEN},/café,\n".encode()
    )
    code, out, err = run_nurture(monkeypatch, capsys, "import", "events", str(events))
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "2 events stored" in out
    assert "│ 3    │ properties:" in out and "surrogate" in out
    assert "│ 4    │ not valid UTF-8" in out
    code, out, _ = run_nurture(monkeypatch, capsys, "next", "L1", "--json")
    assert code == 0 and json.loads(out)["lead_id"] == "L1"
