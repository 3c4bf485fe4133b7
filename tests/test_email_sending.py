"""Sending email end to end: a real SMTP server on 127.0.0.1 receives what `SmtpSender` sends.

aiosmtpd plays the well-behaved server (and refuses a recipient on cue). Failures it will not
stage reliably, like a connection dropped right after the final dot, come from
`ScriptedSmtpServer`, a few lines of raw socket code that speak just enough SMTP.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from agent.settings import Settings
from agent.tools.email import (
    FOOTER,
    InvalidEmailError,
    OutboxSender,
    OutgoingEmail,
    Sender,
    SendOutcomeUnknown,
    SendRefused,
    SmtpSender,
    build_message,
    outbox_file_name,
    with_footer,
)
from tests.utils.smtp import REFUSED_RECIPIENT, CollectingHandler, free_port

UNSUBSCRIBE = "https://routewise.example/unsubscribe?lead=lead-7&src=email"
MESSAGE_ID = "<approval-42@nurture.local>"


def outgoing(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "to_address": "jorg@acme.example",
        "to_name": "Jörg Müller",
        "subject": "Route planning for 40 vans & more",
        "body": "Hi Jörg,\n\nHere is the <case study> you asked about.\nBest,\nRoutewise",
        "message_id": MESSAGE_ID,
        "unsubscribe_url": UNSUBSCRIBE,
        "from_address": "nurture@routewise.example",
        "from_name": "Routewise, Sales",
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


def test_delivers_a_complete_message(smtp_server: tuple[CollectingHandler, int]) -> None:
    handler, port = smtp_server
    SmtpSender("127.0.0.1", port, starttls=False, timeout=5).send(build_message(outgoing()))

    [envelope] = handler.envelopes
    assert envelope.mail_from == "nurture@routewise.example"
    assert envelope.rcpt_tos == ["jorg@acme.example"]
    assert isinstance(envelope.content, bytes)
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(received, EmailMessage)
    assert received["Message-ID"] == MESSAGE_ID
    assert received["From"].addresses[0].display_name == "Routewise, Sales"
    assert received["From"].addresses[0].addr_spec == "nurture@routewise.example"
    assert received["To"].addresses[0].display_name == "Jörg Müller"
    assert received["To"].addresses[0].addr_spec == "jorg@acme.example"
    assert received["Subject"] == "Route planning for 40 vans & more"
    assert received["Date"] is not None
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content_type() == "multipart/alternative"

    text_part = received.get_body(preferencelist=("plain",))
    html_part = received.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    # Decoded from the wire, the text keeps SMTP's CRLF line endings.
    text = text_part.get_content().replace("\r\n", "\n")
    assert text.startswith("Hi Jörg,\n\nHere is the <case study> you asked about.")
    assert text.endswith(FOOTER.format(url=UNSUBSCRIBE))
    assert text.count(UNSUBSCRIBE) == 1
    page = html_part.get_content().replace("\r\n", "\n")
    assert "<p>Hi Jörg,</p>" in page
    assert "&lt;case study&gt;" in page and "<case study>" not in page
    assert "you asked about.<br>" in page
    escaped_url = UNSUBSCRIBE.replace("&", "&amp;")
    assert f'<a href="{escaped_url}">{escaped_url}</a>' in page


def test_the_wire_is_seven_bit_clean(smtp_server: tuple[CollectingHandler, int]) -> None:
    # Non-ASCII names and text are encoded, so no relay needs 8BITMIME or SMTPUTF8.
    handler, port = smtp_server
    SmtpSender("127.0.0.1", port, starttls=False, timeout=5).send(build_message(outgoing()))
    assert isinstance(handler.envelopes[0].content, bytes)
    assert handler.envelopes[0].content.isascii()


def test_a_refused_connection_is_safe_to_retry() -> None:
    sender = SmtpSender("127.0.0.1", free_port(), starttls=False, timeout=5)
    with pytest.raises(SendRefused) as caught:
        sender.send(build_message(outgoing()))
    assert caught.value.retry_safe
    assert "nothing was sent" in str(caught.value)


def test_a_refused_recipient_is_safe_to_retry(smtp_server: tuple[CollectingHandler, int]) -> None:
    handler, port = smtp_server
    sender = SmtpSender("127.0.0.1", port, starttls=False, timeout=5)
    with pytest.raises(SendRefused) as caught:
        sender.send(build_message(outgoing(to_address=REFUSED_RECIPIENT)))
    assert caught.value.retry_safe
    assert caught.value.smtp_code == 550 and caught.value.permanent
    assert REFUSED_RECIPIENT in str(caught.value)
    assert handler.envelopes == []


def test_starttls_is_never_silently_skipped(smtp_server: tuple[CollectingHandler, int]) -> None:
    # The test server offers no STARTTLS: sending in clear text instead would leak credentials.
    handler, port = smtp_server
    with pytest.raises(SendRefused, match="STARTTLS"):
        SmtpSender("127.0.0.1", port, starttls=True, timeout=5).send(build_message(outgoing()))
    assert handler.envelopes == []


def test_a_server_without_starttls_names_the_setting(
    smtp_server: tuple[CollectingHandler, int],
) -> None:
    # STARTTLS is on by default: a plain local server (aiosmtpd, MailHog) refuses it, and the
    # error must say which setting turns it off rather than leave the operator guessing.
    handler, port = smtp_server
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port)
    with pytest.raises(SendRefused) as caught:
        SmtpSender.from_settings(settings).send(build_message(outgoing()))
    message = str(caught.value)
    assert "does not offer STARTTLS" in message and "NURTURE_SMTP_STARTTLS=false" in message
    assert "nothing was sent" in message and handler.envelopes == []


# --- failures staged by a scripted server ----------------------------------------------------


class ScriptedSmtpServer:
    """Speaks minimal SMTP to one client, then misbehaves as told.

    `after_data`: the reply line after the final dot, or None to close the connection instead.
    AUTH is always answered 535. Everything received is kept in `received`."""

    def __init__(self, *, after_data: str | None) -> None:
        self.after_data = after_data
        self.received = b""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(5)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ScriptedSmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError:
            return
        with connection, connection.makefile("rb") as lines:
            connection.sendall(b"220 scripted ESMTP\r\n")
            for line in lines:
                verb = line.split(b" ", 1)[0].strip().upper()
                if verb == b"DATA":
                    connection.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    self._read_data(lines)
                    if self.after_data is None:
                        return  # the verdict never comes: the connection just closes
                    connection.sendall(self.after_data.encode() + b"\r\n")
                elif verb == b"QUIT":
                    connection.sendall(b"221 Bye\r\n")
                    return
                else:
                    connection.sendall(self._reply(verb))

    def _read_data(self, lines: Any) -> None:
        for line in lines:
            if line == b".\r\n":
                return
            self.received += line

    @staticmethod
    def _reply(verb: bytes) -> bytes:
        if verb == b"EHLO":
            return b"250-scripted\r\n250 AUTH PLAIN LOGIN\r\n"
        if verb == b"AUTH":
            return b"535 5.7.8 Authentication credentials invalid\r\n"
        return b"250 OK\r\n"


def test_a_connection_lost_after_the_data_leaves_the_outcome_unknown() -> None:
    with ScriptedSmtpServer(after_data=None) as server:
        sender = SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5)
        with pytest.raises(SendOutcomeUnknown) as caught:
            sender.send(build_message(outgoing()))
    assert not caught.value.retry_safe
    assert b"Message-ID: " + MESSAGE_ID.encode() in server.received  # it did go out in full


def test_a_rejection_after_the_data_is_a_refusal() -> None:
    with ScriptedSmtpServer(after_data="554 5.7.1 Message rejected as spam") as server:
        sender = SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5)
        with pytest.raises(SendRefused) as caught:
            sender.send(build_message(outgoing()))
    assert caught.value.retry_safe and caught.value.smtp_code == 554
    assert "rejected as spam" in str(caught.value)


def test_failed_authentication_is_a_refusal() -> None:
    with ScriptedSmtpServer(after_data="250 OK") as server:
        sender = SmtpSender(
            "127.0.0.1", server.port, username="u", password="wrong", starttls=False, timeout=5
        )
        with pytest.raises(SendRefused) as caught:
            sender.send(build_message(outgoing()))
    assert caught.value.smtp_code == 535
    assert server.received == b""


def test_lines_starting_with_a_dot_survive() -> None:
    # Dot-stuffing: a body line "." must not end the data early.
    with ScriptedSmtpServer(after_data="250 OK") as server:
        sender = SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5)
        sender.send(build_message(outgoing(body="Hi,\n.\n.hidden line\nBye")))
    assert b"\r\n..\r\n" in server.received and b"\r\n..hidden line\r\n" in server.received


# --- outbox ----------------------------------------------------------------------------------


def test_the_outbox_writes_one_file_per_message_id(tmp_path: Path) -> None:
    outbox: Sender = OutboxSender(tmp_path / "outbox")
    outbox.send(build_message(outgoing()))
    later = datetime(2030, 1, 1, tzinfo=UTC)
    outbox.send(build_message(outgoing(subject="Edited"), now=later))  # same approval, resent

    [written] = list((tmp_path / "outbox").iterdir())
    assert written.name == "approval-42@nurture.local.eml"
    stored = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert stored["Message-ID"] == MESSAGE_ID
    assert stored["Subject"] == "Route planning for 40 vans & more"  # the first one stays

    outbox.send(build_message(outgoing(message_id="<approval-43@nurture.local>")))
    assert len(list((tmp_path / "outbox").iterdir())) == 2


def test_outbox_file_names_are_safe_and_distinct() -> None:
    assert outbox_file_name("<a/b@x>") != outbox_file_name("<a_b@x>")
    assert "/" not in outbox_file_name("<../../etc/passwd@x>")
    assert not outbox_file_name("<../../etc/passwd@x>").startswith(".")


# --- building --------------------------------------------------------------------------------


def test_the_footer_is_not_repeated_when_the_body_has_the_link() -> None:
    body = f"Hi,\n\nNot interested? {UNSUBSCRIBE}"
    assert with_footer(body, UNSUBSCRIBE) == body + "\n"
    message = build_message(outgoing(body=body))
    text_part = message.get_body(preferencelist=("plain",))
    assert text_part is not None and text_part.get_content().count(UNSUBSCRIBE) == 1


def test_headers_cannot_be_injected() -> None:
    message = build_message(outgoing(subject="Hello\r\nBcc: victim@example.com"))
    assert message["Subject"] == "Hello Bcc: victim@example.com"
    assert "Bcc" not in message
    with pytest.raises(InvalidEmailError):
        build_message(outgoing(to_address="a@acme.example, b@evil.example"))
    with pytest.raises(InvalidEmailError):
        build_message(outgoing(message_id="no-at-sign"))
