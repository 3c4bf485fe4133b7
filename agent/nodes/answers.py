"""The human's answer to a review, as Agent Inbox and `langgraph.prebuilt.interrupt` define it: a
list holding one HumanResponse (`accept`, `edit` with an ActionRequest, `response` with text,
`ignore`). The project's own `respond` stays an alias of `response`, and an edit may carry the
fields alone instead of the ActionRequest.

Two fields of our own may ride along, which Agent Inbox never sends: `by` (who answered, for the
audit, from callers the graph cannot tell apart: the project's own runner, CLI and API, which
authenticated the person themselves) and `override_guardrails` (accepting a flagged draft
unchanged on purpose). Where LangGraph Server authenticated the caller, the audit names that
caller and a `by` in the answer is ignored: a client must not choose whom the audit blames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import NurtureError
from agent.store.approvals import Answer

UNNAMED = "langgraph-server"
"""Who answered, when the answer does not say and no server authenticated the caller."""


class AnswerNotUnderstood(NurtureError):
    """A resume value that is not one HumanResponse of a known type with fitting args."""


class ActionRequest(BaseModel):
    action: str
    args: dict[str, Any]


class EmailFields(BaseModel):
    """The args of an edit. Other keys (the request's approval_id) are ignored: Agent Inbox hands
    the whole request back, edited."""

    model_config = ConfigDict(extra="ignore")
    subject: str | None = None
    body: str | None = None


class HumanResponse(BaseModel):
    type: Literal["accept", "edit", "response", "respond", "ignore"]
    args: None | str | ActionRequest | dict[str, Any] = None
    by: str | None = Field(default=None, min_length=1, max_length=200)
    override_guardrails: bool = False


@dataclass(frozen=True, slots=True)
class ReviewAnswer:
    """One answer, as the approvals table records it (an edit with its final text)."""

    answer: Answer
    by: str
    feedback: str | None = None
    subject: str | None = None
    body: str | None = None
    override_guardrails: bool = False


def parse_answer(value: Any, draft: dict[str, Any], *, caller: str | None = None) -> ReviewAnswer:
    """The answer in `value`, or AnswerNotUnderstood saying what is wrong with it. `caller` is
    who the server authenticated, if any: then the audit names them, whatever `by` says."""
    if isinstance(value, list):
        if len(value) != 1:
            raise AnswerNotUnderstood(
                f"expected a list holding one HumanResponse, got {len(value)} items"
            )
        value = value[0]
    try:
        response = HumanResponse.model_validate(value)
    except ValidationError as exc:
        raise AnswerNotUnderstood(_problems(exc)) from exc
    by = caller or (response.by or "").strip() or UNNAMED
    if response.type == "accept":  # args, if any, are the request unchanged: sent as drafted
        return ReviewAnswer("accept", by, override_guardrails=response.override_guardrails)
    if response.type == "ignore":
        return ReviewAnswer("ignore", by)
    if response.type in ("response", "respond"):
        if not isinstance(response.args, str):
            raise AnswerNotUnderstood("args: a response carries the requested changes as text")
        return ReviewAnswer("respond", by, feedback=response.args)
    return _edit(response, by, draft)


def _edit(response: HumanResponse, by: str, draft: dict[str, Any]) -> ReviewAnswer:
    args = response.args
    if isinstance(args, ActionRequest):
        args = args.args
    if not isinstance(args, dict):
        raise AnswerNotUnderstood(
            "args: an edit carries an ActionRequest {action, args: {subject, body}}"
        )
    try:
        fields = EmailFields.model_validate(args)
    except ValidationError as exc:
        raise AnswerNotUnderstood(_problems(exc)) from exc
    return ReviewAnswer(
        "edit",
        by,
        subject=draft["subject"] if fields.subject is None else fields.subject,
        body=draft["body"] if fields.body is None else fields.body,
    )


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'answer'}: {error['msg']}"
        for error in exc.errors()
    )
