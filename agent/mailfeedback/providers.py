"""Each mail system's event format read into `MailEvent`s. An event of a type we do not track
(SendGrid's `processed`, Mailgun's `accepted`, ...) or a malformed one is reported as skipped
with why, and never costs the other events of the same request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.mailfeedback.events import Kind, MailEvent, Recorded

Parsed = tuple[list[MailEvent], list[Recorded]]


@dataclass(frozen=True, slots=True)
class _Fields:
    """Where one provider keeps what a MailEvent holds: the table its events are read by."""

    provider: str
    kinds: Mapping[str, Kind]
    """Its event name (the `event` field) -> our kind; a name not here is not tracked."""
    event_id: str
    address: str
    message_id: tuple[str, ...]
    """The path to our Message-ID through nested objects."""
    hard_bounce: Callable[[Mapping[str, Any]], bool]
    bounce_extras: tuple[str, ...]
    """Fields kept as they are on a bounce."""
    incomplete: str
    """Why an event without an id or a time is skipped."""


_SENDGRID = _Fields(
    provider="sendgrid",
    kinds={
        "delivered": "delivered",
        "bounce": "bounce",
        "spamreport": "complaint",
        "unsubscribe": "unsubscribe",
        "group_unsubscribe": "unsubscribe",
        "open": "open",
        "click": "click",
    },
    event_id="sg_event_id",
    address="email",
    message_id=("smtp-id",),
    # a bounce of `type` bounce is hard; blocked is a soft one
    hard_bounce=lambda item: str(item.get("type", "bounce")) == "bounce",
    bounce_extras=("status",),
    incomplete="needs sg_event_id and a timestamp",
)
_MAILGUN = _Fields(
    provider="mailgun",
    kinds={
        "delivered": "delivered",
        "failed": "bounce",
        "complained": "complaint",
        "unsubscribed": "unsubscribe",
        "opened": "open",
        "clicked": "click",
    },
    event_id="id",
    address="recipient",
    message_id=("message", "headers", "message-id"),
    hard_bounce=lambda item: item.get("severity") == "permanent",
    bounce_extras=(),
    incomplete="event-data needs an id and a timestamp",
)
_GENERIC_KINDS: tuple[Kind, ...] = (
    "delivered",
    "bounce",
    "complaint",
    "unsubscribe",
    "open",
    "click",
)


def sendgrid_events(items: object) -> Parsed:
    """SendGrid's Event Webhook: a JSON array; our Message-ID is in `smtp-id`, a bounce of
    `type` bounce is hard (blocked is a soft one)."""
    if not isinstance(items, list):
        return [], [_skip("sendgrid", "-", "body", "the body must be a JSON array of events")]
    events: list[MailEvent] = []
    skipped: list[Recorded] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(_skip("sendgrid", str(index), "?", "an event must be an object"))
            continue
        read = _read(_SENDGRID, item, str(index))
        if isinstance(read, MailEvent):
            events.append(read)
        else:
            skipped.append(read)
    return events, skipped


def mailgun_events(body: Mapping[str, Any]) -> Parsed:
    """One Mailgun webhook: {signature, event-data}; `failed` with severity permanent is a
    hard bounce; the Message-ID is in event-data.message.headers.message-id (without <>)."""
    data = body.get("event-data")
    if not isinstance(data, dict):
        return [], [_skip("mailgun", "-", "?", "the body has no 'event-data' object")]
    read = _read(_MAILGUN, data, "-")
    return ([read], []) if isinstance(read, MailEvent) else ([], [read])


def _read(fields: _Fields, item: Mapping[str, Any], place: str) -> MailEvent | Recorded:
    """One provider event by its table; `place` names it in a skip when it has no id."""
    name = str(item.get("event", ""))
    event_id = str(item.get(fields.event_id) or "")
    kind = fields.kinds.get(name)
    if kind is None:
        return _skip(fields.provider, event_id or place, name, "not tracked")
    occurred = _from_epoch(item.get("timestamp"))
    if not event_id or occurred is None:
        return _skip(fields.provider, place, name, fields.incomplete)
    properties: dict[str, Any] = {"url": item.get("url"), "reason": item.get("reason")}
    if kind == "bounce":
        properties["hard"] = fields.hard_bounce(item)
        properties.update({extra: item.get(extra) for extra in fields.bounce_extras})
    message_id = _at_path(item, fields.message_id)
    return MailEvent(
        provider=fields.provider,
        provider_event_id=event_id,
        kind=kind,
        occurred_at=occurred,
        message_ids=(message_id,) if isinstance(message_id, str) and message_id else (),
        address=_text(item.get(fields.address)),
        properties=_present(properties),
    )


def _at_path(item: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = item
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def generic_events(body: object) -> Parsed:
    """Our documented format: {"events": [{id, type, occurred_at, message_id?, email?,
    hard?, url?, reason?}]} (or the bare list); type is one of delivered, bounce, complaint,
    unsubscribe, open, click."""
    items = body.get("events") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return [], [_skip("mail", "-", "body", 'expected {"events": [...]} or a JSON array')]
    events: list[MailEvent] = []
    skipped: list[Recorded] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            skipped.append(_skip("mail", str(index), "?", "an event must be an object"))
            continue
        kind: Kind | None = next((k for k in _GENERIC_KINDS if k == item.get("type")), None)
        event_id = _text(item.get("id"))
        occurred = _from_iso(item.get("occurred_at"))
        problem = None
        if kind is None:
            problem = f"type: must be one of {', '.join(_GENERIC_KINDS)}"
        elif not event_id:
            problem = "id: required (duplicates are recognised by it)"
        elif occurred is None:
            problem = "occurred_at: required, ISO 8601 with a time zone"
        elif not item.get("message_id") and not item.get("email"):
            problem = "message_id or email: one is required to find the lead"
        if problem is not None:
            skipped.append(
                _skip("mail", event_id or str(index), str(item.get("type")), problem, "rejected")
            )
            continue
        assert kind is not None and event_id is not None and occurred is not None
        properties: dict[str, Any] = {"url": item.get("url"), "reason": item.get("reason")}
        if kind == "bounce":
            properties["hard"] = item.get("hard") is True
        message_id = item.get("message_id")
        events.append(
            MailEvent(
                provider="mail",
                provider_event_id=event_id,
                kind=kind,
                occurred_at=occurred,
                message_ids=(message_id,) if isinstance(message_id, str) and message_id else (),
                address=_text(item.get("email")),
                properties=_present(properties),
            )
        )
    return events, skipped


def _skip(
    provider: str, event_id: str, kind: str, reason: str, status: str = "skipped"
) -> Recorded:
    return Recorded(f"{provider}-{event_id}", kind, status, reason=reason)


def _from_epoch(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _from_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _present(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if v is not None and v != ""}
