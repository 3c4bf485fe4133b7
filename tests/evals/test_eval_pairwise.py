"""`nurture eval pairwise A B`: the judge compares the two runs' drafts case by case, in both
orders, so a judge that always prefers the first position produces ties, not a winner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.runner import drafter_for, run_suite, save_run
from evals.suites import Suite
from tests.evals.conftest import Cli, clean_settings
from tests.utils.fake_openai import FakeOpenAI, Reply

CASES = ("aware-blog-reader-logistics", "consider-case-study-view", "hot-demo-request")


@pytest.fixture
def two_runs(core_suite: Suite, eval_collection: Any, tmp_path: Path) -> tuple[Path, Path]:
    suite = core_suite.model_copy(update={"cases": [c for c in core_suite.cases if c.id in CASES]})
    config = clean_settings(tmp_path)
    folders = []
    for _ in range(2):
        run = run_suite(
            suite, config, drafter=drafter_for(config, "template"), collection=eval_collection
        )
        folders.append(save_run(run, tmp_path / "runs"))
    # B stands for another prompt: the same drafts with a different opening line
    cases = folders[1] / "cases.jsonl"
    lines = [json.loads(line) for line in cases.read_text().splitlines()]
    for line in lines:
        if line["body"]:
            line["body"] = line["body"].replace("Hi ", "Hello ", 1)
    cases.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folders[0], folders[1]


def _cli_env(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI, tmp_path: Path) -> None:
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NURTURE_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("NURTURE_LLM_MODEL", "judge-m")


def test_a_judge_that_follows_position_gives_ties(
    two_runs: tuple[Path, Path],
    nurture_cli: Cli,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake_openai.default = Reply.json({"winner": "first", "reason": "The first one."})
    _cli_env(monkeypatch, fake_openai, tmp_path)
    code, out, err = nurture_cli("eval", "pairwise", str(two_runs[0]), str(two_runs[1]))
    assert code == 0, err
    assert "better in 0, B" in out and "tie in 2" in out and "1 case(s) not drafted" in out
    assert len(fake_openai.chat_requests) == 4  # two drafted cases, asked in both orders


def test_a_consistent_preference_wins(
    two_runs: tuple[Path, Path],
    nurture_cli: Cli,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # B is asked about second in the first reading and first in the second: prefer it both times
    fake_openai.enqueue(
        Reply.json({"winner": "second", "reason": "B reads better."}),
        Reply.json({"winner": "first", "reason": "B reads better."}),
        Reply.json({"winner": "second", "reason": "B again."}),
        Reply.json({"winner": "first", "reason": "B again."}),
    )
    _cli_env(monkeypatch, fake_openai, tmp_path)
    code, out, err = nurture_cli("eval", "pairwise", str(two_runs[0]), str(two_runs[1]))
    assert code == 0, err
    assert "better in 0, B" in out and "better in 2, tie in 0" in out


def test_pairwise_needs_an_endpoint(
    two_runs: tuple[Path, Path], nurture_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NURTURE_LLM_BASE_URL", raising=False)
    code, _, err = nurture_cli("eval", "pairwise", str(two_runs[0]), str(two_runs[1]))
    assert code == 2 and "NURTURE_LLM_BASE_URL" in err
