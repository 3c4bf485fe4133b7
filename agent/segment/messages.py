"""Reading one Segment Tracking API message (the shape RudderStack and Jitsu send too) into
what we store: who it is about, when, and the event or the traits it carries. Pure: no store.

https://segment.com/docs/connections/spec/common/ : `type`, `messageId`, `userId`,
`anonymousId`, `timestamp`, `context` (with `traits`), then per type `event` + `properties`
(track), `name` + `properties` (page), `traits` (identify), `previousId` (alias)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeGuard
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.store.ingest import validation_reason
from agent.store.values import printable_id, storable_text

Kind = Literal["identify", "track", "page", "alias"]
KINDS: tuple[Kind, ...] = ("identify", "track", "page", "alias")

MAX_ID = 160  # an id is kept as an event id or an identity link


class Envelope(BaseModel):
    """The fields of a message we read; the rest (integrations, sentAt, ...) are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    type: str = Field(min_length=1, max_length=32)
    messageId: str | None = Field(default=None, min_length=1, max_length=160)  # noqa: N815
    userId: str | None = None  # noqa: N815
    anonymousId: str | None = None  # noqa: N815
    previousId: str | None = None  # noqa: N815
    timestamp: AwareDatetime | None = None
    originalTimestamp: AwareDatetime | None = None  # noqa: N815
    event: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("messageId", "userId", "anonymousId", "previousId", mode="before")
    @classmethod
    def _printable_id(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            if len(value.strip()) > MAX_ID:
                raise ValueError(f"at most {MAX_ID} characters")
            return printable_id(value.strip()) or None  # "" is no id, as Segment treats it
        return value

    @field_validator("event", "name", "category", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        return storable_text(value)

    @field_validator("properties", "traits", "context", mode="before")
    @classmethod
    def _object_or_empty(cls, value: object) -> object:
        return {} if value is None else value


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message cannot be stored: a reason code (a /metrics label) and the detail."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    occurred_at: datetime | None
    """None when the message carries no time: it happened when it arrived."""
    email: str | None = None
    """The address in the traits (identify) or context.traits (any type)."""
    event_type: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    previous_id: str | None = None

    def event(self, lead_id: str, when: datetime) -> dict[str, Any]:
        """The event as our ingest takes it (track and page only)."""
        return {
            "id": self.message_id,
            "lead_id": lead_id,
            "type": self.event_type,
            "occurred_at": (self.occurred_at or when).isoformat(),
            "properties": self.properties,
        }


def read_message(
    raw: object, batch_context: Mapping[str, Any] | None = None
) -> Message | Rejection:
    """The message, or why it cannot be read. `batch_context`: a /v1/batch body's own
    `context`, which Segment applies to every message under it."""
    if not isinstance(raw, Mapping):
        return Rejection("invalid_message", "a message must be a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        return Rejection("invalid_message", validation_reason(exc))
    kind = envelope.type
    if not _is_kind(kind):
        return Rejection(
            "unsupported_type",
            f"type: '{kind}' messages are not used (only {', '.join(KINDS)})",
        )
    context = {**(batch_context or {}), **envelope.context}
    context_traits = context.get("traits") if isinstance(context.get("traits"), Mapping) else {}
    # RudderStack sends an identify's traits in context.traits only; Segment at the top level
    traits = {**(context_traits or {}), **envelope.traits} if kind == "identify" else {}
    email = _email(traits) or _email(context_traits or {})
    message = Message(
        kind,
        message_id=envelope.messageId or _derived_id(raw),
        user_id=envelope.userId,
        anonymous_id=envelope.anonymousId,
        occurred_at=envelope.timestamp or envelope.originalTimestamp,
        email=email,
    )
    if kind == "track":
        if envelope.event is None:
            return Rejection("invalid_message", "event: a track message names its event")
        return replace(message, event_type=envelope.event, properties=envelope.properties)
    if kind == "page":
        properties = page_properties(envelope, context)
        return replace(message, event_type="page_view", properties=properties)
    if kind == "alias":
        if envelope.previousId is None or message.user_id is None:
            return Rejection("invalid_message", "alias: needs both previousId and userId")
        return replace(message, previous_id=envelope.previousId)
    if message.user_id is None and message.anonymous_id is None and email is None:
        return Rejection("invalid_message", "identify: needs a userId, an anonymousId or an email")
    return replace(message, traits=traits)


def page_properties(envelope: Envelope, context: Mapping[str, Any]) -> dict[str, Any]:
    """A page's properties with its full URL as `url` and the URL's path as `path`, which is
    what the playbook's page rules read (`^/pricing`). The page's name and category are kept."""
    page = context.get("page") if isinstance(context.get("page"), Mapping) else {}
    properties = dict(envelope.properties)
    url = properties.get("url") or (page or {}).get("url")
    path = _path_of(url) if isinstance(url, str) else None
    if isinstance(url, str) and path is not None:
        properties["url"] = url.strip()
        properties["path"] = path
    elif not isinstance(properties.get("path"), str) and isinstance((page or {}).get("path"), str):
        properties["path"] = (page or {})["path"]
    for key in ("name", "category"):
        value = getattr(envelope, key)
        if value and key not in properties:
            properties[key] = value
    return properties


def _path_of(url: str) -> str | None:
    """The URL's path ("/" for a bare host); None for no URL or one that cannot be parsed."""
    if not url.strip():
        return None
    try:
        return urlsplit(url.strip()).path or "/"
    except ValueError:  # e.g. an unclosed IPv6 bracket: kept as sent, no path taken from it
        return None


def _is_kind(value: str) -> TypeGuard[Kind]:
    return value in KINDS


def _email(traits: Mapping[str, Any]) -> str | None:
    value = traits.get("email")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _derived_id(raw: object) -> str:
    """For a message without a messageId (the spec requires one; hand-written senders forget):
    one from its content, so sending it again is still a duplicate."""
    body = json.dumps(raw, sort_keys=True, default=str)
    return "seg-" + hashlib.sha256(body.encode()).hexdigest()[:32]
