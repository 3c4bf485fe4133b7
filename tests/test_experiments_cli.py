"""`nurture experiments`: the numbers per variant and the verdict, as a table and as --json
(the same document GET /v1/experiments returns), read from the store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from agent.playbook import load_playbook
from cli.common import open_database
from tests.test_experiments import NOW, SUBJECTS, _event, _sent, with_experiments
from tests.utils.cli import run_nurture


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four leads in each variant, sent; two of the question leads replied, none of the topic."""
    path = tmp_path / "playbook.yaml"
    path.write_text(with_experiments(SUBJECTS))
    monkeypatch.setenv("NURTURE_PLAYBOOK", str(path))
    monkeypatch.setenv("NURTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    db, playbook = open_database(), load_playbook(path)
    for i in range(4):
        _sent(db, playbook, f"T{i}", "topic", NOW + timedelta(minutes=i))
        _sent(db, playbook, f"Q{i}", "question", NOW + timedelta(minutes=i))
    for lead in ("Q0", "Q1"):
        _event(db, playbook, lead, "email_reply", NOW + timedelta(days=1))


def test_json_gives_the_rates_test_and_verdict(store: None, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, err = run_nurture(monkeypatch, capsys, "experiments", "--json")
    assert code == 0, err
    [experiment] = json.loads(out)["experiments"]
    assert experiment["id"] == "subject-question"
    rates = {
        v["variant"]: (v["sends"], v["replies"], v["reply_rate"]) for v in experiment["variants"]
    }
    assert rates == {"topic": (4, 0, 0.0), "question": (4, 2, 0.5)}
    verdict = experiment["verdict"]
    assert verdict["status"] == "no_difference" and verdict["test"] == "fisher_exact"
    assert 0 < verdict["p_value"] <= 1


def test_the_table_shows_each_variant_and_the_verdict(store: None, monkeypatch, capsys) -> None:  # noqa: ANN001
    code, out, err = run_nurture(monkeypatch, capsys, "experiments")
    assert code == 0, err
    assert "subject-question: subject_style (interest, consideration)" in out
    assert "question" in out and "2 (50.0%)" in out
    assert "verdict: no difference on reply rate, fisher_exact p = " in out


def test_a_playbook_file_that_does_not_parse_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(with_experiments(SUBJECTS.replace("[topic, question]", "[topic, loud]")))
    monkeypatch.setenv("NURTURE_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    code, out, err = run_nurture(monkeypatch, capsys, "experiments", "--playbook", str(bad))
    assert code != 0
    assert "experiments[0].variants[1]" in err and "Traceback" not in err
