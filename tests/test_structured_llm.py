"""The shared structured-output call (agent/drafting/structured.py) on its own, against the fake
OpenAI server: what the drafter's and the judge's own tests only reach through their wording."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from agent.drafting.structured import (
    MAX_ECHOED_CHARS,
    Answer,
    LLMCallFailed,
    StructuredChat,
    Tally,
    endpoint_params,
    repair_messages,
)
from tests.utils.fake_openai import FakeOpenAI, Reply


class Verdict(BaseModel):
    ok: bool


def make_chat(server: FakeOpenAI, **overrides: Any) -> StructuredChat:
    params: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": "test-key",
        "model": "m",
        "timeout_seconds": 2.0,
        "max_attempts": 2,
        "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
    }
    params.update(overrides)
    return StructuredChat(**params)


def refusal_body(text: str) -> bytes:
    message = {"role": "assistant", "content": None, "refusal": text}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return json.dumps(
        {"id": "c1", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]}
    ).encode()


def test_a_valid_reply_is_parsed_with_its_usage_and_attempts(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply.json({"ok": True}, prompt_tokens=7, completion_tokens=3))

    answer = make_chat(fake_openai).ask([{"role": "user", "content": "hi"}], Verdict)

    assert answer.parsed == Verdict(ok=True)
    assert answer.usage == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert answer.attempts == 1
    assert "temperature" not in fake_openai.chat_requests[0].body  # None leaves it out


def test_temperature_is_sent_when_set(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply.json({"ok": True}))

    make_chat(fake_openai, temperature=0.0).ask([], Verdict)

    assert fake_openai.chat_requests[0].body["temperature"] == 0


def test_invalid_output_is_a_repairable_answer_not_a_failure(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply.text("not json"))

    answer = make_chat(fake_openai).ask([], Verdict)

    assert answer.parsed is None
    assert answer.content == "not json"
    assert answer.problem
    assert answer.usage["total_tokens"] == 200  # a bad reply is still paid for


def test_failures_are_worded_for_the_caller(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = Reply.error(503)

    with pytest.raises(LLMCallFailed) as failed:
        make_chat(fake_openai, who="judge").ask([], Verdict)

    assert failed.value.attempts == 2
    assert failed.value.reason.startswith("judge endpoint failed after 2 attempts: HTTP 503")


def test_a_refusal_fails_at_once_in_the_callers_words(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(Reply.raw(refusal_body("I can't help with that.")))

    with pytest.raises(LLMCallFailed) as failed:
        make_chat(fake_openai, refused="refused to draft").ask([], Verdict)

    assert failed.value.reason == "LLM refused to draft: I can't help with that."
    assert failed.value.attempts == 1 and len(fake_openai.chat_requests) == 1


def test_tally_sums_answers() -> None:
    tally = Tally()
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    tally.add(Answer(None, usage=usage, attempts=2))
    tally.add(Answer(None, usage=usage, attempts=1))

    assert tally.attempts == 3
    assert tally.usage == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}


def test_repair_messages_echo_the_bad_reply_truncated() -> None:
    failed: Answer[Any] = Answer(None, content="x" * (MAX_ECHOED_CHARS + 10), problem="bad")

    echoed, ask = repair_messages(failed, "Fix it: {problem}.")

    assert echoed == {"role": "assistant", "content": "x" * MAX_ECHOED_CHARS}
    assert ask == {"role": "user", "content": "Fix it: bad."}
    assert repair_messages(Answer(None, problem="empty"), "{problem}") == [
        {"role": "user", "content": "empty"}
    ]


def test_endpoint_params_map_settings_and_let_overrides_win() -> None:
    settings = SimpleNamespace(
        llm_base_url="http://llm/v1",
        llm_api_key=SecretStr("sk-1"),
        llm_model="gpt-x",
        llm_timeout_seconds=5.0,
        llm_max_attempts=4,
    )

    params = endpoint_params(settings, {"model": "other", "sleep": print}, purpose="judge")

    assert params == {
        "base_url": "http://llm/v1",
        "api_key": "sk-1",
        "model": "other",
        "timeout_seconds": 5.0,
        "max_attempts": 4,
        "sleep": print,
    }


def test_endpoint_params_need_an_endpoint_and_default_the_key() -> None:
    with pytest.raises(ValueError, match="no LLM endpoint to draft with"):
        endpoint_params(SimpleNamespace(llm_base_url=None), {}, purpose="draft")

    params = endpoint_params(SimpleNamespace(), {"base_url": "http://local/v1"}, purpose="draft")

    # Local endpoints ignore the key, but the SDK refuses an empty one.
    assert params["api_key"] == "not-needed"
    assert params["model"] == "gpt-4o-mini"
