"""One structured-output chat request to any OpenAI-compatible endpoint, made robust.

Shared by the drafter (agent/drafting/llm.py) and the LLM judge (evals/judge/), so every model call
follows one failure policy:
- transient endpoint trouble (429, 5xx, timeout, connection refused/reset) is retried by tenacity
  with jittered exponential backoff, honouring Retry-After, bounded by `max_attempts` and by a total
  time budget. The SDK's own retries are off (`max_retries=0`) so the two never multiply.
- output that does not validate against the schema comes back as a repairable `Answer` (the raw
  content and what was wrong with it); the caller gets one repair round with `repair_messages`.
- anything else (4xx, refusal, content filter, a non-JSON HTTP body) raises `LLMCallFailed` at once.
No SDK exception escapes `StructuredChat.ask`; callers map `LLMCallFailed` to their own failure.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import openai
from openai import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ContentFilterFinishReasonError,
    InternalServerError,
    LengthFinishReasonError,
    OpenAI,
    RateLimitError,
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

log = logging.getLogger(__name__)

Parsed = TypeVar("Parsed", bound=BaseModel)
Messages = list[dict[str, str]]

# APITimeoutError subclasses APIConnectionError; both are listed so the intent reads plainly.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    RateLimitError,
    InternalServerError,
    APITimeoutError,
    APIConnectionError,
)
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
# The bad reply is echoed back for repair; a runaway reply must not blow up the second prompt.
MAX_ECHOED_CHARS = 4000


class LLMCallFailed(Exception):
    """The endpoint gave no usable answer, and asking again (or for repair) cannot help."""

    def __init__(self, reason: str, *, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts  # requests made by the failed `ask`, retries included


@dataclass(frozen=True)
class Answer(Generic[Parsed]):
    """One answered request: the parsed reply, or the raw content and what was wrong with it."""

    parsed: Parsed | None
    content: str | None = None
    problem: str | None = None
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS, 0))
    attempts: int = 1


@dataclass
class Tally:
    """Counters of one logical call (its retries and repair round included). Kept by the caller,
    not by `StructuredChat`, so one chat can serve many threads."""

    attempts: int = 0
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS, 0))

    def add(self, answer: Answer[Parsed]) -> Answer[Parsed]:
        self.attempts += answer.attempts
        for key in USAGE_KEYS:
            self.usage[key] += answer.usage[key]
        return answer


class StructuredChat:
    """Asks a chat model behind an OpenAI-compatible endpoint for a reply matching a pydantic
    model."""

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
        temperature: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        who: str = "LLM",
        refused: str = "refused",
    ) -> None:
        """`backoff_seconds` scales the jittered exponential wait (tests pass ~0.01);
        `max_backoff_seconds` caps one wait, Retry-After included; `max_total_seconds` caps the
        time spent retrying one request; `temperature` None leaves it out of the request (the
        endpoint's default); `sleep` is injectable so tests can record the waits. `who` opens
        every failure reason ("LLM", "judge") and `refused` words a refusal ("refused to draft")."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        self.max_attempts = max_attempts
        self.max_backoff_seconds = max_backoff_seconds
        self.max_total_seconds = max_total_seconds
        self.temperature = temperature
        self.who = who
        self.refused = refused
        self._backoff = wait_random_exponential(multiplier=backoff_seconds, max=max_backoff_seconds)
        self._sleep = sleep
        # max_retries=0: tenacity owns retrying. With the SDK default (2) every tenacity attempt
        # would itself try 3 times, so 3 attempts would mean up to 9 requests.
        self._client = OpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_seconds
        )

    def close(self) -> None:
        self._client.close()

    def ask(self, messages: Messages, schema: type[Parsed]) -> Answer[Parsed]:
        """One logical request (retried while transient) and its interpretation."""
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
        tries = 0

        def send() -> Any:
            nonlocal tries
            tries += 1
            # with_raw_response: parsing happens in `raw.parse()`, so when the content is invalid
            # we still hold the raw reply (for usage and for the repair message).
            return self._client.chat.completions.with_raw_response.parse(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=schema,
                **extra,
            )

        who = self.who
        try:
            raw = retrying(send)
        except RETRYABLE_ERRORS as exc:
            raise LLMCallFailed(
                f"{who} endpoint failed after {tries} attempts: {_describe(exc)}", attempts=tries
            ) from exc
        except APIStatusError as exc:  # 4xx: the request itself is wrong; retrying cannot help
            raise LLMCallFailed(
                f"{who} endpoint rejected the request: {_describe(exc)}", attempts=tries
            ) from exc
        except openai.OpenAIError as exc:
            raise LLMCallFailed(f"{who} call failed: {_describe(exc)}", attempts=tries) from exc
        return self._interpret(raw, tries)

    def _interpret(self, raw: Any, tries: int) -> Answer[Any]:
        who = self.who
        body = _json_body(raw)
        if body is None:
            raise LLMCallFailed(
                f"{who} endpoint answered with something that is not a chat completion (not JSON)",
                attempts=tries,
            )
        usage = _usage_of(body)
        content = _content_of(body)

        def repairable(problem: str) -> Answer[Any]:
            return Answer(None, content, problem, usage=usage, attempts=tries)

        try:
            completion = raw.parse()
        except ValidationError as exc:
            return repairable(_summarise_validation(exc))
        except LengthFinishReasonError:
            # Truncated JSON is malformed output: the repair round asks again, and shorter.
            return repairable("the reply was cut off at the token limit (too long)")
        except ContentFilterFinishReasonError as exc:
            raise LLMCallFailed(
                f"{who} reply was blocked by the endpoint's content filter", attempts=tries
            ) from exc
        except (ValueError, openai.OpenAIError) as exc:
            raise LLMCallFailed(f"{who} reply could not be read: {exc}", attempts=tries) from exc

        if not completion.choices:
            return repairable("the reply had no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise LLMCallFailed(f"{who} {self.refused}: {message.refusal}", attempts=tries)
        if message.parsed is None:
            return repairable("the reply had no JSON content")
        return Answer(message.parsed, usage=usage, attempts=tries)

    def _wait(self, retry_state: RetryCallState) -> float:
        """Retry-After when the server sent one (capped), else jittered exponential backoff."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = _retry_after_seconds(exc)
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        return float(self._backoff(retry_state))


def repair_messages(failed: Answer[Any], instruction: str) -> Messages:
    """The turns that ask once for repair: the bad reply echoed back (truncated), then
    `instruction` with its `{problem}` filled in."""
    extra: Messages = []
    if failed.content:
        extra.append({"role": "assistant", "content": failed.content[:MAX_ECHOED_CHARS]})
    extra.append({"role": "user", "content": instruction.format(problem=failed.problem)})
    return extra


def endpoint_params(settings: Any, overrides: Mapping[str, Any], *, purpose: str) -> dict[str, Any]:
    """`StructuredChat` keywords (base_url, api_key, model, timeout_seconds, max_attempts) from
    `Settings`' `llm_*` fields; `overrides` win and pass through. `purpose` ("draft", "judge")
    words the error when no endpoint is set."""
    params = dict(overrides)
    base_url = params.pop("base_url", None) or getattr(settings, "llm_base_url", None)
    if not base_url:
        raise ValueError(f"llm_base_url is not set: there is no LLM endpoint to {purpose} with")
    api_key: Any = params.pop("api_key", None) or getattr(settings, "llm_api_key", None)
    if hasattr(api_key, "get_secret_value"):
        api_key = api_key.get_secret_value()
    return {
        "base_url": str(base_url),
        # Local endpoints (Ollama, vLLM) ignore the key, but the SDK refuses an empty one.
        "api_key": str(api_key or "not-needed"),
        "model": getattr(settings, "llm_model", "gpt-4o-mini"),
        "timeout_seconds": getattr(settings, "llm_timeout_seconds", 60.0),
        "max_attempts": getattr(settings, "llm_max_attempts", 3),
        **params,
    }


def _json_body(raw: Any) -> dict[str, Any] | None:
    try:
        body = raw.http_response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _usage_of(body: dict[str, Any]) -> dict[str, int]:
    usage = dict.fromkeys(USAGE_KEYS, 0)
    reported = body.get("usage")
    if isinstance(reported, dict):
        for key in USAGE_KEYS:
            value = reported.get(key)
            if isinstance(value, int):
                usage[key] = value
    return usage


def _content_of(body: dict[str, Any]) -> str | None:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _summarise_validation(exc: ValidationError) -> str:
    """The errors without their input values: the model gets its own reply back separately."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "reply"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _retry_after_seconds(exc: BaseException | None) -> float | None:
    """Seconds from `retry-after-ms` or a numeric `Retry-After`; HTTP dates are ignored."""
    if not isinstance(exc, APIStatusError):
        return None
    headers = exc.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _log_retry(retry_state: RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    log.warning(
        "LLM call attempt %d failed (%s); retrying in %.2fs",
        retry_state.attempt_number,
        _describe(exc) if exc else "unknown error",
        retry_state.upcoming_sleep,
    )
