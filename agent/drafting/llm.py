"""The LLM drafter: one structured-output call to any OpenAI-compatible endpoint, made robust.

Failure policy (the call itself, retries and error classification, lives in
agent/drafting/structured.py and is shared with the LLM judge):
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
from pathlib import Path
from typing import Any

from agent.drafting.models import DraftFailed, DraftRequest, DraftResult, EmailDraft
from agent.drafting.prompts import DEFAULT_PROMPT_PATH, PromptError, PromptTemplate, load_prompt
from agent.drafting.structured import (
    LLMCallFailed,
    StructuredChat,
    Tally,
    endpoint_params,
    repair_messages,
)

log = logging.getLogger(__name__)

REPAIR_INSTRUCTION = (
    "Your previous reply could not be used: {problem}. Reply again with only a JSON object that "
    "matches the schema, with the keys subject, body, cited_asset_ids and lead_facts_used, and "
    "follow every rule in the system message. No text before or after the JSON."
)


class LLMDrafter:
    """Drafts emails with a chat model behind any OpenAI-compatible endpoint."""

    def __init__(self, *, prompt_path: Path = DEFAULT_PROMPT_PATH, **chat_options: Any) -> None:
        """`chat_options` go to `StructuredChat`: base_url, api_key and model, then optionally
        timeout_seconds, max_attempts, backoff_seconds, max_backoff_seconds, max_total_seconds
        and sleep (see there); `prompt_path` is the drafting prompt."""
        self._prompt: PromptTemplate = load_prompt(prompt_path)
        self._chat = StructuredChat(who="LLM", refused="refused to draft", **chat_options)
        self.model = self._chat.model

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> LLMDrafter:
        """Build from `Settings` (`llm_*` fields); keyword overrides win."""
        return cls(**endpoint_params(settings, overrides, purpose="draft"))

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    @property
    def prompt_version(self) -> str:
        return self._prompt.version

    def close(self) -> None:
        self._chat.close()

    def __enter__(self) -> LLMDrafter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- drafting --------------------------------------------------------------------------------
    def draft(self, request: DraftRequest) -> DraftResult:
        """One draft for `request`: at most one repair round, each request retried if transient."""
        # Per-draft counters (local to one `draft` call, so one drafter can serve many threads).
        tally = Tally()
        try:
            messages = self._prompt.render(request).messages()
        except PromptError as exc:
            raise DraftFailed(str(exc), attempts=0) from exc

        try:
            first = tally.add(self._chat.ask(messages, EmailDraft))
            if first.parsed is not None:
                return self._result(first.parsed, tally)

            log.warning("LLM draft for %s was malformed, asking once for repair", request.lead_id)
            repair = messages + repair_messages(first, REPAIR_INSTRUCTION)
            second = tally.add(self._chat.ask(repair, EmailDraft))
        except LLMCallFailed as exc:
            raise DraftFailed(exc.reason, attempts=tally.attempts + exc.attempts) from exc
        if second.parsed is not None:
            return self._result(second.parsed, tally)
        raise DraftFailed(
            f"LLM output was malformed twice: {first.problem}; after repair: {second.problem}",
            attempts=tally.attempts,
        )

    def _result(self, draft: EmailDraft, tally: Tally) -> DraftResult:
        return DraftResult(
            draft=draft,
            drafter=self.name,
            prompt_version=self.prompt_version,
            usage=dict(tally.usage),
            attempts=tally.attempts,
        )
