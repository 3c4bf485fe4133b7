"""The LLM drafter: one structured-output call to any OpenAI-compatible endpoint, made robust.

Failure policy, in one place:
- transient endpoint trouble (429, 5xx, timeout, connection refused/reset) is retried by tenacity
  with jittered exponential backoff, honouring Retry-After, bounded by `max_attempts` and by a total
  time budget. The SDK's own retries are off (`max_retries=0`) so the two never multiply.
- output that is not valid JSON for `EmailDraft` gets exactly one repair request (the error is sent
  back to the model), then the draft fails.
- anything else (4xx, refusal, content filter, a non-JSON HTTP body) fails at once.
Every failure surfaces as `DraftFailed` with a readable reason; no SDK exception escapes `draft`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from pydantic import ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from agent.drafting.models import DraftFailed, DraftRequest, DraftResult, EmailDraft
from agent.drafting.prompts import DEFAULT_PROMPT_PATH, PromptError, PromptTemplate, load_prompt

log = logging.getLogger(__name__)

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

REPAIR_INSTRUCTION = (
    "Your previous reply could not be used: {problem}. Reply again with only a JSON object that "
    "matches the schema, with the keys subject, body, cited_asset_ids and lead_facts_used, and "
    "follow every rule in the system message. No text before or after the JSON."
)


@dataclass
class _Tally:
    """Per-draft counters (local to one `draft` call, so one drafter can serve many threads)."""

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
class _Reply:
    """One answered request: the parsed draft, or the raw content and what was wrong with it."""

    draft: EmailDraft | None
    content: str | None = None
    problem: str | None = None


class LLMDrafter:
    """Drafts emails with a chat model behind any OpenAI-compatible endpoint."""

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
        prompt_path: Path = DEFAULT_PROMPT_PATH,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`backoff_seconds` scales the jittered exponential wait (tests pass ~0.01);
        `max_backoff_seconds` caps one wait, Retry-After included; `max_total_seconds` caps the
        time spent retrying one request; `sleep` is injectable so tests can record the waits."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        self.max_attempts = max_attempts
        self.max_backoff_seconds = max_backoff_seconds
        self.max_total_seconds = max_total_seconds
        self._prompt: PromptTemplate = load_prompt(prompt_path)
        self._backoff = wait_random_exponential(multiplier=backoff_seconds, max=max_backoff_seconds)
        self._sleep = sleep
        # max_retries=0: tenacity owns retrying. With the SDK default (2) every tenacity attempt
        # would itself try 3 times, so 3 attempts would mean up to 9 requests.
        self._client = OpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_seconds
        )

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> LLMDrafter:
        """Build from `Settings` (`llm_*` fields); keyword overrides win."""
        base_url = overrides.pop("base_url", None) or getattr(settings, "llm_base_url", None)
        if not base_url:
            raise ValueError("llm_base_url is not set: there is no LLM endpoint to draft with")
        api_key: Any = overrides.pop("api_key", None) or getattr(settings, "llm_api_key", None)
        if hasattr(api_key, "get_secret_value"):
            api_key = api_key.get_secret_value()
        params: dict[str, Any] = {
            "model": getattr(settings, "llm_model", "gpt-4o-mini"),
            "timeout_seconds": getattr(settings, "llm_timeout_seconds", 60.0),
            "max_attempts": getattr(settings, "llm_max_attempts", 3),
        }
        params.update(overrides)
        # Local endpoints (Ollama, vLLM) ignore the key, but the SDK refuses an empty one.
        return cls(base_url=str(base_url), api_key=str(api_key or "not-needed"), **params)

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    @property
    def prompt_version(self) -> str:
        return self._prompt.version

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LLMDrafter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- drafting --------------------------------------------------------------------------------
    def draft(self, request: DraftRequest) -> DraftResult:
        """One draft for `request`: at most one repair round, each request retried if transient."""
        tally = _Tally()
        try:
            messages: list[dict[str, str]] = self._prompt.render(request).messages()
        except PromptError as exc:
            raise DraftFailed(str(exc), attempts=0) from exc

        first = self._complete(messages, tally)
        if first.draft is not None:
            return self._result(first.draft, tally)

        log.warning("LLM draft for %s was malformed, asking once for repair", request.lead_id)
        second = self._complete(messages + _repair_messages(first), tally)
        if second.draft is not None:
            return self._result(second.draft, tally)
        raise DraftFailed(
            f"LLM output was malformed twice: {first.problem}; after repair: {second.problem}",
            attempts=tally.attempts,
        )

    def _result(self, draft: EmailDraft, tally: _Tally) -> DraftResult:
        return DraftResult(
            draft=draft,
            drafter=self.name,
            prompt_version=self.prompt_version,
            usage=dict(tally.usage),
            attempts=tally.attempts,
        )

    def _complete(self, messages: list[dict[str, str]], tally: _Tally) -> _Reply:
        """One logical request (retried while transient) and its interpretation."""
        retrying = Retrying(
            retry=retry_if_exception_type(RETRYABLE_ERRORS),
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.max_total_seconds),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        tries = 0

        def send() -> Any:
            nonlocal tries
            tries += 1
            tally.attempts += 1
            # with_raw_response: parsing happens in `raw.parse()`, so when the content is invalid
            # we still hold the raw reply (for usage and for the repair message).
            return self._client.chat.completions.with_raw_response.parse(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=EmailDraft,
            )

        try:
            raw = retrying(send)
        except RETRYABLE_ERRORS as exc:
            raise DraftFailed(
                f"LLM endpoint failed after {tries} attempts: {_describe(exc)}",
                attempts=tally.attempts,
            ) from exc
        except APIStatusError as exc:  # 4xx: the request itself is wrong; retrying cannot help
            raise DraftFailed(
                f"LLM endpoint rejected the request: {_describe(exc)}", attempts=tally.attempts
            ) from exc
        except openai.OpenAIError as exc:
            raise DraftFailed(
                f"LLM call failed: {_describe(exc)}", attempts=tally.attempts
            ) from exc
        return self._interpret(raw, tally)

    def _interpret(self, raw: Any, tally: _Tally) -> _Reply:
        body = _json_body(raw)
        if body is None:
            raise DraftFailed(
                "LLM endpoint answered with something that is not a chat completion (not JSON)",
                attempts=tally.attempts,
            )
        tally.add_usage(body.get("usage"))
        content = _content_of(body)
        try:
            completion = raw.parse()
        except ValidationError as exc:
            return _Reply(None, content, _summarise_validation(exc))
        except LengthFinishReasonError:
            # Truncated JSON is malformed output: the repair round asks again, and shorter.
            return _Reply(None, content, "the reply was cut off at the token limit (too long)")
        except ContentFilterFinishReasonError as exc:
            raise DraftFailed(
                "LLM reply was blocked by the endpoint's content filter", attempts=tally.attempts
            ) from exc
        except (ValueError, openai.OpenAIError) as exc:
            raise DraftFailed(
                f"LLM reply could not be read: {exc}", attempts=tally.attempts
            ) from exc

        if not completion.choices:
            return _Reply(None, content, "the reply had no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise DraftFailed(f"LLM refused to draft: {message.refusal}", attempts=tally.attempts)
        if message.parsed is None:
            return _Reply(None, content, "the reply had no JSON content")
        return _Reply(message.parsed)

    def _wait(self, retry_state: RetryCallState) -> float:
        """Retry-After when the server sent one (capped), else jittered exponential backoff."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = _retry_after_seconds(exc)
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        return float(self._backoff(retry_state))


def _repair_messages(failed: _Reply) -> list[dict[str, str]]:
    extra: list[dict[str, str]] = []
    if failed.content:
        extra.append({"role": "assistant", "content": failed.content[:MAX_ECHOED_CHARS]})
    extra.append({"role": "user", "content": REPAIR_INSTRUCTION.format(problem=failed.problem)})
    return extra


def _json_body(raw: Any) -> dict[str, Any] | None:
    try:
        body = raw.http_response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


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
