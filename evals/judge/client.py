"""One structured-output request to the judge model, with the drafter's failure policy.

The call itself is the drafter's (agent/drafting/structured.py): transient trouble (429, 5xx,
timeouts, connection errors) is retried by tenacity honouring Retry-After, with the SDK's own
retries off; output that does not validate gets exactly one repair round; anything else fails at
once. Every failure surfaces as `JudgeFailed`."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from agent.drafting.structured import (
    LLMCallFailed,
    Messages,
    StructuredChat,
    Tally,
    repair_messages,
)
from evals.judge.models import JudgeFailed

Reply = TypeVar("Reply", bound=BaseModel)

REPAIR_INSTRUCTION = (
    "Your previous reply could not be used: {problem}. Reply again with only a JSON object that "
    "matches the schema and the rules in the system message. No text before or after the JSON."
)


class JudgeClient:
    """Asks an OpenAI-compatible endpoint for a judgement matching a pydantic model."""

    def __init__(self, *, temperature: float | None = 0.0, **options: Any) -> None:
        """`options` go to `StructuredChat`. `temperature` 0 makes a cached verdict the verdict a
        re-run would give; None leaves it out for models that refuse the parameter."""
        self._chat = StructuredChat(temperature=temperature, who="judge", **options)

    def close(self) -> None:
        self._chat.close()

    def ask(self, messages: Messages, schema: type[Reply]) -> tuple[Reply, Tally]:
        """The validated reply and what it cost: at most one repair round, each request retried
        if transient."""
        tally = Tally()
        try:
            first = tally.add(self._chat.ask(messages, schema))
            if first.parsed is not None:
                return first.parsed, tally
            repair = messages + repair_messages(first, REPAIR_INSTRUCTION)
            second = tally.add(self._chat.ask(repair, schema))
        except LLMCallFailed as exc:
            raise JudgeFailed(exc.reason, attempts=tally.attempts + exc.attempts) from exc
        if second.parsed is not None:
            return second.parsed, tally
        raise JudgeFailed(
            f"judge output was malformed twice: {first.problem}; after repair: {second.problem}",
            attempts=tally.attempts,
        )
