"""Inbound replies (SendGrid Inbound Parse, Postmark inbound JSON) read into one shape: who
wrote, which of our emails they answer, the new text with the quoted history stripped, and
whether it is an auto-reply (out of office, vacation notice) that must neither pause the lead
nor hand it over."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

from mailparser_reply import EmailReplyParser

from agent.mailfeedback.events import MailEvent

MAX_TEXT = 4_000
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it"]
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
# RFC 3834 says auto-replies mark themselves; many do not, so common subject forms count too.
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office( auto-?reply)?|automatic reply|auto[- ]?reply|autoreply|"
    r"auto[- ]?response|abwesenheitsnotiz|automatische antwort|absence du bureau|"
    r"réponse automatique|fuera de la oficina|respuesta automática|afwezigheidsmelding|"
    r"on vacation|vacation reply)\s*(:|-|–|$)",
    re.IGNORECASE,
)
_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}


@dataclass(frozen=True)
class InboundReply:
    provider: str
    reply_id: str
    """The reply's own Message-ID (else a digest of it): the same reply posted twice is one."""
    from_address: str | None
    subject: str
    in_reply_to: tuple[str, ...]
    """In-Reply-To first, then References, newest first: the emails of ours it may answer."""
    text: str
    """The new text only, quoted history and signature separators stripped."""
    headers: Mapping[str, str]
    received_at: datetime

    def auto_reply(self) -> str | None:
        """Why this is an auto-reply, or None for a person's reply."""
        return auto_reply_reason(self.headers, self.subject)

    def as_event(self) -> MailEvent:
        return MailEvent(
            provider=self.provider,
            provider_event_id=self.reply_id,
            kind="reply",
            occurred_at=self.received_at,
            message_ids=self.in_reply_to,
            address=self.from_address,
            properties={"message": self.text, "subject": self.subject or None},
        )


def auto_reply_reason(headers: Mapping[str, str], subject: str) -> str | None:
    """RFC 3834 Auto-Submitted (anything but "no"), X-Autoreply / X-Autorespond, Precedence
    auto_reply|bulk|junk, or a subject such as "Out of Office" or "Abwesenheitsnotiz"."""
    lower = {name.lower(): value.strip() for name, value in headers.items()}
    submitted = lower.get("auto-submitted", "").lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond"):
        if lower.get(name):
            return f"{name}: {lower[name]}"
    precedence = lower.get("precedence", "").lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.search(_without_reply_prefix(subject)):
        return f"subject {subject.strip()!r}"
    return None


def new_text(text: str) -> str:
    """The reply without the history it quotes (mail-parser-reply, offline)."""
    if not text.strip():
        return ""
    try:
        latest = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text)
    except Exception:  # noqa: BLE001 - a parser failure must not lose the reply: keep it whole
        latest = text
    stripped = (latest or "").strip() or text.strip()
    return stripped[:MAX_TEXT]


def from_postmark(body: Mapping[str, Any], *, now: datetime) -> InboundReply:
    """Postmark's inbound JSON: Headers is a list of {Name, Value}; TextBody the whole text."""
    headers = {
        str(h.get("Name", "")): str(h.get("Value", ""))
        for h in body.get("Headers") or []
        if isinstance(h, dict)
    }
    full = body.get("FromFull")
    address = full.get("Email") if isinstance(full, dict) else None
    address = address or parseaddr(str(body.get("From", "")))[1] or None
    text = str(body.get("TextBody") or "") or str(body.get("StrippedTextReply") or "")
    own_id = _header(headers, "Message-ID") or str(body.get("MessageID") or "")
    return InboundReply(
        provider="postmark",
        reply_id=own_id.strip("<> ") or _digest(address, text),
        from_address=address,
        subject=str(body.get("Subject") or ""),
        in_reply_to=_answered(headers),
        text=new_text(text),
        headers=headers,
        received_at=_date(body.get("Date"), now),
    )


def from_sendgrid(form: Mapping[str, str], *, now: datetime) -> InboundReply:
    """SendGrid Inbound Parse (multipart form): `headers` is the raw header block and `text`
    the text part; with "POST the raw, full MIME message" the whole message is in `email`."""
    if form.get("email"):
        message = message_from_string(form["email"], policy=policy.default)
        assert isinstance(message, EmailMessage)
        headers = {name: str(value) for name, value in message.items()}
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
    else:
        parsed = HeaderParser(policy=policy.default).parsestr(form.get("headers", ""))
        headers = {name: str(value) for name, value in parsed.items()}
        text = form.get("text", "")
    address = parseaddr(form.get("from") or _header(headers, "From"))[1] or None
    own_id = _header(headers, "Message-ID")
    return InboundReply(
        provider="sendgrid",
        reply_id=own_id.strip("<> ") or _digest(address, text),
        from_address=address,
        subject=form.get("subject") or _header(headers, "Subject"),
        in_reply_to=_answered(headers),
        text=new_text(text),
        headers=headers,
        received_at=_date(_header(headers, "Date"), now),
    )


def _answered(headers: Mapping[str, str]) -> tuple[str, ...]:
    ids = _MESSAGE_IDS.findall(_header(headers, "In-Reply-To"))
    ids += reversed(_MESSAGE_IDS.findall(_header(headers, "References")))
    return tuple(dict.fromkeys(ids))


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), "")


def _date(value: object, now: datetime) -> datetime:
    if isinstance(value, str) and value.strip():
        try:
            moment = parsedate_to_datetime(value)
            if moment.tzinfo is not None:
                return min(moment.astimezone(UTC), now)
        except (TypeError, ValueError):
            pass
    return now


def _without_reply_prefix(subject: str) -> str:
    return re.sub(r"^\s*((re|aw|fw|fwd|wg|sv)\s*:\s*)+", "", subject, flags=re.IGNORECASE)


def _digest(address: str | None, text: str) -> str:
    return hashlib.sha256(f"{address}\0{text}".encode()).hexdigest()[:32]
