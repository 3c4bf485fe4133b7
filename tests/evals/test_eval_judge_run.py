"""The LLM judge inside an eval run (template drafts, judged by the scripted server on
127.0.0.1): scores land in each case and the summary, and a second run is answered from the
disk cache without a single request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.judge import Judge
from evals.runner import drafter_for, run_suite
from evals.suites import Suite
from tests.evals.conftest import clean_settings
from tests.utils.fake_openai import FakeOpenAI, Reply

DRAFTED = ("aware-blog-reader-logistics", "consider-case-study-view")


def rubric(**scores: int) -> dict[str, Any]:
    values = {"relevance": 4, "tone": 5, "clarity": 3, "stage_fit": 4} | scores
    return {name: {"score": s, "reason": f"{name} is fine."} for name, s in values.items()}


@pytest.fixture
def two_drafts(core_suite: Suite) -> Suite:
    return core_suite.model_copy(update={"cases": [c for c in core_suite.cases if c.id in DRAFTED]})


def test_the_judge_scores_each_draft_and_a_rerun_is_free(
    two_drafts: Suite, eval_collection: Any, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.json(rubric(), prompt_tokens=500, completion_tokens=60)
    config = clean_settings(tmp_path, llm_base_url=fake_openai.base_url, llm_model="judge-m")
    template = drafter_for(clean_settings(tmp_path), "template")

    def run_once() -> Any:
        with Judge.from_settings(config, cache_dir=tmp_path / "cache") as judge:
            return run_suite(
                two_drafts, config, drafter=template, collection=eval_collection, judge=judge
            )

    first = run_once()
    assert len(fake_openai.chat_requests) == 2  # one per draft; the drafts are the template's
    for record in first.records:
        assert record.drafter == "template"
        assert record.judge is not None and record.judge["scores"]["clarity"] == 3
        assert record.judge["reasons"]["tone"] == "tone is fine." and not record.judge["cached"]
    summary = first.summary["judge"]
    assert summary["means"] == {"relevance": 4.0, "tone": 5.0, "clarity": 3.0, "stage_fit": 4.0}
    assert (summary["drafts"], summary["cached"], summary["tokens"]) == (2, 0, 1120)

    second = run_once()
    assert len(fake_openai.chat_requests) == 2  # nothing new was asked
    assert second.summary["judge"]["cached"] == 2 and second.summary["judge"]["tokens"] == 0
    assert second.summary["judge"]["means"] == summary["means"]


def test_a_judge_failure_is_recorded_and_the_run_goes_on(
    two_drafts: Suite, eval_collection: Any, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.json(rubric(stage_fit=9))  # out of range, every time
    config = clean_settings(tmp_path, llm_base_url=fake_openai.base_url, llm_model="judge-m")
    with Judge.from_settings(config, cache_dir=tmp_path / "cache", max_attempts=1) as judge:
        run = run_suite(
            two_drafts,
            config,
            drafter=drafter_for(clean_settings(tmp_path), "template"),
            collection=eval_collection,
            judge=judge,
        )
    assert all(r.judge and "error" in r.judge for r in run.records)
    assert run.summary["judge"]["failed"] == 2 and run.summary["judge"]["means"] == {}
    assert all(r.subject for r in run.records)  # the drafts themselves are still judged by checks
