"""One structured-output request to the judge model, with the drafter's failure policy.

The policy is the LLM drafter's (agent/drafting/llm.py), and so are its helpers: transient trouble
(429, 5xx, timeouts, connection errors) is retried by tenacity honouring Retry-After, with the
SDK's own retries off; output that does not validate gets exactly one repair round; anything else
fails at once. Every failure surfaces as `JudgeFailed`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from openai import (
    APIStatusError,
    ContentFilterFinishReasonError,
    LengthFinishReasonError,
    OpenAI,
)
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

# Private helpers of the drafter, reused on purpose: one retry/parse policy for every model call.
from agent.drafting.llm import (
    MAX_ECHOED_CHARS,
    RETRYABLE_ERRORS,
    USAGE_KEYS,
    _content_of,
    _describe,
    _json_body,
    _log_retry,
    _retry_after_seconds,
    _summarise_validation,
)
from evals.judge.models import JudgeFailed

Reply = TypeVar("Reply", bound=BaseModel)
Messages = list[dict[str, str]]

REPAIR_INSTRUCTION = (
    "Your previous reply could not be used: {problem}. Reply again with only a JSON object that "
    "matches the schema and the rules in the system message. No text before or after the JSON."
)


@dataclass
class Tally:
    """Counters of one logical call (its retries and repair round included)."""

    attempts: int = 0
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS, 0))

    def add_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        for key in USAGE_KEYS:
            value = usage.get(key)
            if isinstance(value, int):
                self.usage[key] += value


@dataclass(frozen=True)
class _Answer:
    parsed: BaseModel | None
    content: str | None = None
    problem: str | None = None


class StructuredClient:
    """Asks an OpenAI-compatible endpoint for a reply matching a pydantic model."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_seconds: float = 60.0,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 20.0,
        max_total_seconds: float = 180.0,
        temperature: float | None = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`temperature` 0 makes a cached verdict the verdict a re-run would give; None leaves it
        out for models that refuse the parameter."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        self.max_attempts = max_attempts
        self.max_backoff_seconds = max_backoff_seconds
        self.max_total_seconds = max_total_seconds
        self.temperature = temperature
        self._backoff = wait_random_exponential(multiplier=backoff_seconds, max=max_backoff_seconds)
        self._sleep = sleep
        # max_retries=0: tenacity owns retrying, as in the drafter (otherwise attempts multiply).
        self._client = OpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_seconds
        )

    def close(self) -> None:
        self._client.close()

    def ask(self, messages: Messages, schema: type[Reply], tally: Tally) -> Reply:
        """The validated reply: at most one repair round, each request retried if transient."""
        first = self._request(messages, schema, tally)
        if first.parsed is not None:
            return schema.model_validate(first.parsed)
        second = self._request(messages + _repair_messages(first), schema, tally)
        if second.parsed is not None:
            return schema.model_validate(second.parsed)
        raise JudgeFailed(
            f"judge output was malformed twice: {first.problem}; after repair: {second.problem}",
            attempts=tally.attempts,
        )

    def _request(self, messages: Messages, schema: type[BaseModel], tally: Tally) -> _Answer:
        retrying = Retrying(
            retry=retry_if_exception_type(RETRYABLE_ERRORS),
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.max_total_seconds),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        extra: dict[str, Any] = {}
        if self.temperature is not None:
            extra["temperature"] = self.temperature

        def send() -> Any:
            tally.attempts += 1
            # with_raw_response keeps the raw reply when parsing fails (usage, repair message).
            return self._client.chat.completions.with_raw_response.parse(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=schema,
                **extra,
            )

        try:
            raw = retrying(send)
        except RETRYABLE_ERRORS as exc:
            raise JudgeFailed(
                f"judge endpoint failed after {tally.attempts} attempts: {_describe(exc)}",
                attempts=tally.attempts,
            ) from exc
        except APIStatusError as exc:  # 4xx: retrying the same request cannot help
            raise JudgeFailed(
                f"judge endpoint rejected the request: {_describe(exc)}", attempts=tally.attempts
            ) from exc
        except openai.OpenAIError as exc:
            raise JudgeFailed(
                f"judge call failed: {_describe(exc)}", attempts=tally.attempts
            ) from exc
        return self._interpret(raw, tally)

    def _interpret(self, raw: Any, tally: Tally) -> _Answer:
        body = _json_body(raw)
        if body is None:
            raise JudgeFailed(
                "judge endpoint answered with something that is not a chat completion (not JSON)",
                attempts=tally.attempts,
            )
        tally.add_usage(body.get("usage"))
        content = _content_of(body)
        try:
            completion = raw.parse()
        except ValidationError as exc:
            return _Answer(None, content, _summarise_validation(exc))
        except LengthFinishReasonError:
            return _Answer(None, content, "the reply was cut off at the token limit (too long)")
        except ContentFilterFinishReasonError as exc:
            raise JudgeFailed(
                "judge reply was blocked by the endpoint's content filter", attempts=tally.attempts
            ) from exc
        except (ValueError, openai.OpenAIError) as exc:
            raise JudgeFailed(
                f"judge reply could not be read: {exc}", attempts=tally.attempts
            ) from exc
        if not completion.choices:
            return _Answer(None, content, "the reply had no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise JudgeFailed(f"judge refused: {message.refusal}", attempts=tally.attempts)
        if message.parsed is None:
            return _Answer(None, content, "the reply had no JSON content")
        return _Answer(message.parsed)

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = _retry_after_seconds(exc)
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        return float(self._backoff(retry_state))


def _repair_messages(failed: _Answer) -> Messages:
    extra: Messages = []
    if failed.content:
        extra.append({"role": "assistant", "content": failed.content[:MAX_ECHOED_CHARS]})
    extra.append({"role": "user", "content": REPAIR_INSTRUCTION.format(problem=failed.problem)})
    return extra
