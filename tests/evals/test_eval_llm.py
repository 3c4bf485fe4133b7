"""The eval run with the LLM drafter, against the scripted OpenAI-compatible server on 127.0.0.1:
tokens, cost and latency are recorded per case and in the summary, and every draft says which
model wrote it. No paid calls: the socket guard allows only this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.runner import EvalRun, drafter_for, run_suite
from evals.suites import Suite
from tests.evals.conftest import Cli, clean_settings
from tests.utils.fake_openai import ASKED_UNSUBSCRIBE_LINE, FakeOpenAI, Reply

DRAFTED = "aware-blog-reader-logistics"
HANDED_OFF = "hot-demo-request"


def good_reply(asset_id: str) -> Reply:
    """A draft that passes the agent's guardrails for the awareness case (no numbers, no
    pricing words, the lead's own unsubscribe line), so the drafter is asked exactly once."""
    return Reply.json(
        {
            "subject": "Hartwell Logistics: routes without the spreadsheet",
            "body": "Hi Priya,\n\nYou have been reading about route optimisation, so this "
            "guide may help your team at Hartwell Logistics plan with less manual work.\n\n"
            "Worth a read when you have five minutes.\n\nBest regards,\nThe Routewise team\n\n"
            f"{ASKED_UNSUBSCRIBE_LINE}\n",
            "cited_asset_ids": [asset_id],
            "lead_facts_used": ["works at Hartwell Logistics"],
        },
        prompt_tokens=1200,
        completion_tokens=300,
    )


@pytest.fixture
def few_cases(core_suite: Suite) -> Suite:
    cases = [c for c in core_suite.cases if c.id in (DRAFTED, HANDED_OFF)]
    return core_suite.model_copy(update={"cases": cases})


@pytest.fixture
def cited(core_template_run: EvalRun) -> str:
    """The asset retrieval picks for the drafted case (retrieval does not depend on the drafter)."""
    record = next(r for r in core_template_run.records if r.case_id == DRAFTED)
    return record.cited_asset_ids[0]


def llm_settings(tmp_path: Path, fake: FakeOpenAI, **values: Any) -> Any:
    return clean_settings(tmp_path, llm_base_url=fake.base_url, llm_model="fake-model", **values)


def test_an_llm_run_records_tokens_cost_latency_and_the_model(
    few_cases: Suite, eval_collection: Any, fake_openai: FakeOpenAI, cited: str, tmp_path: Path
) -> None:
    fake_openai.enqueue(good_reply(cited))
    config = llm_settings(tmp_path, fake_openai, llm_prices={"fake-model": (1.0, 2.0)})
    run = run_suite(
        few_cases, config, drafter=drafter_for(config, "llm"), collection=eval_collection
    )
    drafted, handed_off = (
        next(r for r in run.records if r.case_id == i) for i in (DRAFTED, HANDED_OFF)
    )

    assert drafted.drafter == "llm:fake-model" and drafted.prompt_version == "draft-email-v3"
    assert drafted.guardrail_violations == [] and drafted.draft_calls == 1
    assert drafted.tokens == {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}
    assert drafted.latency_ms > 0
    assert drafted.subject == "Hartwell Logistics: routes without the spreadsheet"
    checks = {c.name: c.passed for c in drafted.checks}
    assert checks["unsubscribe"] and checks["personalisation"] and checks["grounding"]
    # a hand-off drafts nothing and costs nothing
    assert (handed_off.outcome, handed_off.draft_calls) == ("handed_off", 0)
    assert handed_off.tokens["total_tokens"] == 0

    s = run.summary
    assert (s["drafter"], s["model"], s["prompt_version"]) == (
        "llm:fake-model",
        "fake-model",
        "draft-email-v3",
    )
    assert s["tokens"]["total_tokens"] == 1500 and s["draft_calls"] == 1
    # 1200 × $1 + 300 × $2 per million tokens
    assert s["cost"]["usd"] == pytest.approx(0.0018)
    assert s["latency_ms"]["p50"] > 0
    [request] = fake_openai.chat_requests
    assert request.body["model"] == "fake-model"
    assert "Hartwell Logistics" in json.dumps(request.messages)


def test_without_a_price_the_cost_is_unknown_not_zero(
    few_cases: Suite, eval_collection: Any, fake_openai: FakeOpenAI, cited: str, tmp_path: Path
) -> None:
    fake_openai.enqueue(good_reply(cited))
    config = llm_settings(tmp_path, fake_openai)
    run = run_suite(
        few_cases, config, drafter=drafter_for(config, "llm"), collection=eval_collection
    )
    assert run.summary["tokens"]["total_tokens"] == 1500
    assert run.summary["cost"]["usd"] is None
    assert run.summary["cost"]["basis"].startswith("unknown: no price for fake-model")


def test_a_failing_endpoint_fails_the_case_and_keeps_the_run(
    few_cases: Suite, eval_collection: Any, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.error(400)  # not retried: fails at once
    config = llm_settings(tmp_path, fake_openai)
    run = run_suite(
        few_cases, config, drafter=drafter_for(config, "llm"), collection=eval_collection
    )
    drafted = next(r for r in run.records if r.case_id == DRAFTED)
    assert drafted.outcome == "draft_failed" and not drafted.passed
    failed = {c.name for c in drafted.checks if c.passed is False}
    assert {"unsubscribe", "subject_length", "call_to_action"} <= failed
    assert "no draft to judge (draft_failed" in next(
        c.detail for c in drafted.checks if c.name == "unsubscribe"
    )
    assert run.summary["outcomes"] == {"draft_failed": 1, "handed_off": 1}


def test_eval_run_cli_with_the_llm_drafter_and_a_model(
    small_suite_file: Path,
    fake_openai: FakeOpenAI,
    cited: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    nurture_cli: Cli,
) -> None:
    fake_openai.enqueue(good_reply(cited))
    monkeypatch.setenv("NURTURE_LLM_BASE_URL", fake_openai.base_url)
    out_dir = tmp_path / "runs"
    code, out, err = nurture_cli(
        "eval",
        "run",
        str(small_suite_file),
        "--drafter",
        "llm",
        "--model",
        "other-model",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    [folder] = out_dir.iterdir()
    assert folder.name.startswith("core-small-") and f"saved: {folder}" in out
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["drafter"] == "llm:other-model" and summary["cases"] == 2
    assert summary["tokens"]["total_tokens"] == 1500
    assert summary["cost"]["usd"] is None and "cost unknown" in out
    lines = (folder / "cases.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert fake_openai.chat_requests[0].body["model"] == "other-model"


def test_eval_run_cli_refuses_llm_without_an_endpoint(
    small_suite_file: Path, nurture_cli: Cli
) -> None:
    code, _, err = nurture_cli("eval", "run", str(small_suite_file), "--drafter", "llm")
    assert code == 2
    assert "--drafter llm needs an endpoint: set NURTURE_LLM_BASE_URL" in err
