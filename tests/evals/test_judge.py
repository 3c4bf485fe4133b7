"""The LLM judge against a real local HTTP server speaking the OpenAI protocol (no network, no
key): each test scripts the endpoint's replies and checks both the judgement and the traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.settings import Settings
from evals.judge import (
    CaseSummary,
    DraftText,
    Judge,
    JudgeCache,
    JudgeFailed,
    cache_key,
)
from evals.judge.cache import prompt_sha256
from evals.judge.judge import DEFAULT_RUBRIC_PATH
from tests.utils.fake_openai import FakeOpenAI, Reply

CASE = CaseSummary(
    stage="interest",
    action="send_email",
    lead_facts=(
        "Works at Northwind Freight, a freight carrier.",
        "Plans routes for a fleet of 85 trucks by hand in a spreadsheet.",
    ),
    content=(
        "The hidden cost of planning routes on a spreadsheet: empty miles and missed windows.",
    ),
)
DRAFT_A = DraftText(
    subject="Where manual route planning quietly costs miles",
    body="Hi Dana,\n\nYou plan 85 trucks by hand. This piece shows where miles hide.\n\nBest",
)
DRAFT_B = DraftText(
    subject="Buy Routewise today!!!",
    body="Hi,\n\nSign the contract now and save big.\n\nBest",
)


def rubric(**overrides: Any) -> dict[str, Any]:
    scores = {"relevance": 5, "tone": 4, "clarity": 4, "stage_fit": 3}
    scores.update(overrides)
    return {name: {"score": s, "reason": f"{name} reason."} for name, s in scores.items()}


def make_judge(server: FakeOpenAI, cache_dir: Path, **overrides: Any) -> Judge:
    params: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": "test-key",
        "model": "judge-test",
        "cache_dir": cache_dir,
        "timeout_seconds": 2.0,
        "max_attempts": 3,
        "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
    }
    params.update(overrides)
    return Judge(**params)


# --- rubric scores -------------------------------------------------------------------------------


def test_valid_reply_is_parsed_with_usage(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.enqueue(Reply.json(rubric(), prompt_tokens=700, completion_tokens=90))

    with make_judge(fake_openai, tmp_path) as judge:
        result = judge.score(CASE, DRAFT_A)

    assert result.as_dict() == {"relevance": 5, "tone": 4, "clarity": 4, "stage_fit": 3}
    assert result.scores.tone.reason == "tone reason."
    assert result.mean == 4.0
    assert result.prompt_version == "judge-rubric-v1"
    assert result.model == "judge-test"
    call = result.call
    assert (call.cached, call.prompt_tokens, call.completion_tokens) == (False, 700, 90)
    assert call.total_tokens == 790 and call.attempts == 1 and call.latency_seconds > 0
    [request] = fake_openai.chat_requests
    assert request.body["model"] == "judge-test"
    assert request.body["temperature"] == 0
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["relevance", "tone", "clarity", "stage_fit"]
    # the draft and the situation reach the model inside their tags
    user = request.message("user")
    assert "<draft>\nsubject: Where manual route planning quietly costs miles" in user
    assert "- Plans routes for a fleet of 85 trucks by hand in a spreadsheet." in user
    assert "stage: interest" in user


def test_malformed_json_then_valid_is_repaired(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.enqueue(Reply.text("Scores: relevance 5, tone 4"), Reply.json(rubric(clarity=2)))

    result = make_judge(fake_openai, tmp_path).score(CASE, DRAFT_A)

    assert result.score_of("clarity") == 2
    assert result.call.attempts == 2
    assert result.call.total_tokens == 2 * 200  # both requests are paid for
    first, second = fake_openai.chat_requests
    # the repair round echoes the bad reply and says what was wrong with it
    assert second.messages[-2] == {"role": "assistant", "content": "Scores: relevance 5, tone 4"}
    assert "could not be used" in second.messages[-1]["content"]
    assert "json" in second.messages[-1]["content"].lower()
    assert len(second.messages) == len(first.messages) + 2


def test_out_of_range_score_fails_after_one_repair(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.default = Reply.json(rubric(stage_fit=7))
    judge = make_judge(fake_openai, tmp_path)

    with pytest.raises(JudgeFailed) as failed:
        judge.score(CASE, DRAFT_A)

    assert "stage_fit.score" in failed.value.reason
    assert "less than or equal to 5" in failed.value.reason
    assert failed.value.attempts == 2
    assert len(fake_openai.chat_requests) == 2
    assert len(judge.cache) == 0  # a failure is never cached


def test_missing_criterion_is_rejected_by_name(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    incomplete = rubric()
    del incomplete["tone"]
    fake_openai.default = Reply.json(incomplete)

    with pytest.raises(JudgeFailed, match=r"tone: Field required"):
        make_judge(fake_openai, tmp_path).score(CASE, DRAFT_A)


# --- the cache -----------------------------------------------------------------------------------


def test_second_identical_call_makes_no_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.enqueue(Reply.json(rubric()))
    first = make_judge(fake_openai, tmp_path).score(CASE, DRAFT_A)

    # a new Judge over the same folder: the cache is on disk, not in memory
    again = make_judge(fake_openai, tmp_path).score(CASE, DRAFT_A)

    assert len(fake_openai.chat_requests) == 1
    assert again.scores == first.scores
    assert again.call.cached is True
    assert (again.call.total_tokens, again.call.attempts) == (0, 0)
    assert first.call.cached is False and first.call.total_tokens == 200


def test_cache_key_ignores_key_order_but_not_content() -> None:
    def key(kind: str, version: str, model: str, payload: Any, **where: str) -> str:
        params = {"prompt_hash": prompt_sha256("sys", "user"), "base_url": "http://a/v1", **where}
        return cache_key(kind, version, model, payload, **params)

    assert key("rubric", "v1", "m", {"a": 1, "b": [1, 2]}) == key(
        "rubric", "v1", "m", {"b": [1, 2], "a": 1}
    )
    # one endpoint, however its URL ends
    assert key("rubric", "v1", "m", {"a": 1}) == key(
        "rubric", "v1", "m", {"a": 1}, base_url="http://a/v1/"
    )
    keys = {
        key("rubric", "v1", "m", {"a": 1}),
        key("rubric", "v2", "m", {"a": 1}),
        key("rubric", "v1", "m2", {"a": 1}),
        key("rubric", "v1", "m", {"a": 2}),
        key("pairwise", "v1", "m", {"a": 1}),
        key("rubric", "v1", "m", {"a": 1}, prompt_hash=prompt_sha256("sys!", "user")),
        key("rubric", "v1", "m", {"a": 1}, prompt_hash=prompt_sha256("sys", "user!")),
        key("rubric", "v1", "m", {"a": 1}, base_url="http://b/v1"),
    }
    assert len(keys) == 8


def test_reworded_rubric_with_the_same_version_is_a_miss(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.json(rubric())
    cache = tmp_path / "cache"
    make_judge(fake_openai, cache).score(CASE, DRAFT_A)

    text = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
    assert "## system" in text and "## user" in text
    folder = tmp_path / "reworded"
    folder.mkdir()
    reworded = folder / "judge_rubric.md"
    # the author forgot to bump the version: the wording still decides the key
    reworded.write_text(text.replace("## system\n", "## system\nBe harsh.\n", 1), "utf-8")
    result = make_judge(fake_openai, cache, rubric_path=reworded).score(CASE, DRAFT_A)
    assert result.prompt_version == "judge-rubric-v1"
    assert result.call.cached is False
    assert len(fake_openai.chat_requests) == 2
    assert "Be harsh." in fake_openai.chat_requests[1].message("system")

    user_edit = folder / "judge_rubric_user.md"
    user_edit.write_text(text.replace("## user\n", "## user\nScore strictly.\n", 1), "utf-8")
    judged = make_judge(fake_openai, cache, rubric_path=user_edit).score(CASE, DRAFT_A)
    assert judged.call.cached is False
    assert "Score strictly." in fake_openai.chat_requests[2].message("user")
    assert len(fake_openai.chat_requests) == 3

    # a copy with the same text (front matter and all) is the same prompt: a hit
    same = folder / "copy.md"
    same.write_text(text, "utf-8")
    assert make_judge(fake_openai, cache, rubric_path=same).score(CASE, DRAFT_A).call.cached
    assert len(fake_openai.chat_requests) == 3


def test_the_same_model_name_behind_another_endpoint_is_a_miss(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.json(rubric())
    cache = tmp_path / "cache"
    make_judge(fake_openai, cache).score(CASE, DRAFT_A)

    with FakeOpenAI(default=Reply.json(rubric(tone=1))) as elsewhere:
        result = make_judge(elsewhere, cache).score(CASE, DRAFT_A)
        assert result.call.cached is False
        assert result.score_of("tone") == 1
        assert len(elsewhere.chat_requests) == 1
        # and each endpoint then hits its own entry
        assert make_judge(elsewhere, cache).score(CASE, DRAFT_A).score_of("tone") == 1
        assert len(elsewhere.chat_requests) == 1
    assert make_judge(fake_openai, cache).score(CASE, DRAFT_A).score_of("tone") == 4
    assert len(fake_openai.chat_requests) == 1
    entries = [json.loads(p.read_text("utf-8")) for p in cache.glob("*/*.json")]
    assert {e["base_url"] for e in entries} == {fake_openai.base_url, elsewhere.base_url}
    assert len({e["prompt_sha256"] for e in entries}) == 1


def test_other_model_prompt_version_or_draft_is_a_miss(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.json(rubric())
    cache = tmp_path / "cache"
    make_judge(fake_openai, cache).score(CASE, DRAFT_A)
    assert len(fake_openai.chat_requests) == 1

    other_model = make_judge(fake_openai, cache, model="judge-other").score(CASE, DRAFT_A)
    assert other_model.call.cached is False
    assert len(fake_openai.chat_requests) == 2

    text = DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8")
    v2 = tmp_path / "judge_rubric_v2.md"
    v2.write_text(text.replace("version: judge-rubric-v1", "version: judge-rubric-v2"), "utf-8")
    new_prompt = make_judge(fake_openai, cache, rubric_path=v2).score(CASE, DRAFT_A)
    assert new_prompt.prompt_version == "judge-rubric-v2"
    assert new_prompt.call.cached is False
    assert len(fake_openai.chat_requests) == 3

    edited = DraftText(subject=DRAFT_A.subject, body=DRAFT_A.body + " ")
    assert make_judge(fake_openai, cache).score(CASE, edited).call.cached is False
    assert len(fake_openai.chat_requests) == 4

    # and every one of them is now a hit
    for judge in (make_judge(fake_openai, cache), make_judge(fake_openai, cache, rubric_path=v2)):
        assert judge.score(CASE, DRAFT_A).call.cached is True
    assert len(fake_openai.chat_requests) == 4


def test_a_damaged_cache_entry_is_judged_again(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.default = Reply.json(rubric())
    make_judge(fake_openai, tmp_path).score(CASE, DRAFT_A)
    [entry] = list(tmp_path.glob("*/*.json"))
    entry.write_text("{not json", encoding="utf-8")

    result = make_judge(fake_openai, tmp_path).score(CASE, DRAFT_A)

    assert result.call.cached is False
    assert len(fake_openai.chat_requests) == 2
    assert json.loads(entry.read_text(encoding="utf-8"))["reply"]["relevance"]["score"] == 5
    assert len(JudgeCache(tmp_path)) == 1


# --- pairwise ------------------------------------------------------------------------------------


def pairwise(winner: str) -> Reply:
    return Reply.json({"winner": winner, "reason": f"the {winner} draft is better."})


def test_a_judge_that_always_prefers_the_first_position_gives_a_tie(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = pairwise("first")

    result = make_judge(fake_openai, tmp_path).compare(CASE, DRAFT_A, DRAFT_B)

    assert result.winner == "tie"
    assert not result.consistent
    assert [v.raw.winner for v in result.verdicts] == ["first", "first"]
    assert [(v.order, v.winner) for v in result.verdicts] == [("a_first", "a"), ("b_first", "b")]
    assert result.prompt_version == "judge-pairwise-v1"
    # the two requests really did show the drafts in swapped positions
    first, second = (r.message("user") for r in fake_openai.chat_requests)
    assert first.index(DRAFT_A.subject) < first.index(DRAFT_B.subject)
    assert second.index(DRAFT_B.subject) < second.index(DRAFT_A.subject)


def test_a_consistent_preference_for_b_wins_and_is_cached(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    # B is shown second in the first ordering and first in the second one
    fake_openai.enqueue(pairwise("second"), pairwise("first"))

    result = make_judge(fake_openai, tmp_path).compare(CASE, DRAFT_A, DRAFT_B)

    assert result.winner == "b"
    assert result.consistent
    assert result.total_tokens == 400
    assert len(fake_openai.chat_requests) == 2

    again = make_judge(fake_openai, tmp_path).compare(CASE, DRAFT_A, DRAFT_B)
    assert again.winner == "b"
    assert all(v.call.cached for v in again.verdicts) and again.total_tokens == 0
    # asking the other way round reuses both orderings: the same two questions
    swapped = make_judge(fake_openai, tmp_path).compare(CASE, DRAFT_B, DRAFT_A)
    assert swapped.winner == "a"
    assert len(fake_openai.chat_requests) == 2


# --- transient endpoint trouble ------------------------------------------------------------------


def test_429_and_500_are_retried_then_scored(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.enqueue(Reply.error(429, retry_after=0), Reply.error(500), Reply.json(rubric()))
    waits: list[float] = []

    result = make_judge(fake_openai, tmp_path, sleep=waits.append).score(CASE, DRAFT_A)

    assert result.as_dict()["relevance"] == 5
    assert result.call.attempts == 3
    assert len(fake_openai.chat_requests) == 3
    assert waits[0] == 0  # Retry-After: 0 honoured
    assert len(waits) == 2


def test_an_endpoint_that_stays_down_fails_readably(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.default = Reply.error(503)

    with pytest.raises(JudgeFailed, match=r"failed after 2 attempts: HTTP 503"):
        make_judge(fake_openai, tmp_path, max_attempts=2).score(CASE, DRAFT_A)
    assert len(fake_openai.chat_requests) == 2


def test_from_settings_uses_the_llm_settings(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, llm_base_url=fake_openai.base_url, llm_model="settings-model"
    )
    fake_openai.enqueue(Reply.json(rubric()))

    with Judge.from_settings(settings) as judge:
        result = judge.score(CASE, DRAFT_A)

    assert result.model == "settings-model"
    assert fake_openai.chat_requests[0].headers["authorization"] == "Bearer not-needed"
    assert len(JudgeCache(tmp_path / "judge-cache")) == 1
    with pytest.raises(ValueError, match="llm_base_url is not set"):
        Judge.from_settings(Settings(data_dir=tmp_path))
