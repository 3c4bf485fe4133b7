"""Building and sending one email: proper MIME with one-click unsubscribe, over SMTP or to a folder.

`build_message` turns an approved `OutgoingEmail` into a multipart/alternative message (plain text
plus an HTML rendering of the same text) that carries the caller's stable Message-ID and the
RFC 8058 one-click unsubscribe headers. Two senders satisfy `Sender`:

- `SmtpSender` hands the message to an SMTP server. Its errors say whether the message was surely
  not accepted (`SendRefused`: retrying cannot duplicate it) or may have been accepted
  (`SendOutcomeUnknown`: a human must check before anything resends it).
- `OutboxSender` writes `.eml` files into a folder, the embedded default when no SMTP host is
  configured, so a demo or a dry run "sends" without a mail server and anyone can open what would
  have gone out. Writing the same Message-ID twice keeps the one file.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import smtplib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from pathlib import Path
from ssl import create_default_context
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from agent.errors import NurtureError

if TYPE_CHECKING:
    from agent.settings import Settings


class _VerbatimHeader(UnstructuredHeader):
    """A header written out exactly as given, on one line.

    The stock folder turns a token longer than a line (any real unsubscribe URL with a token in
    it) into RFC 2047 encoded-words, which no mailbox provider decodes in List-Unsubscribe: the
    one-click button would silently disappear. Only ASCII values without line breaks get here."""

    name: str  # BaseHeader's, which the registry mixes in (the stubs do not say so)

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def _header_registry() -> HeaderRegistry:
    # A registry of our own: mapping the type on the default one would change every policy.
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", cast(type[BaseHeader], _VerbatimHeader))
    return registry


# Always 7-bit clean on the wire: non-ASCII text goes quoted-printable or base64, so no relay has
# to support 8BITMIME and the bytes we hand over are exactly the bytes that get delivered.
MESSAGE_POLICY = SMTP.clone(cte_type="7bit", header_factory=_header_registry())
ONE_CLICK = "List-Unsubscribe=One-Click"
FOOTER = "\n\n-- \nTo stop receiving these emails, unsubscribe here: {url}\n"

_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
# One mailbox, nothing that a header parser could read as a second address or a comment.
_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+")
# Printable ASCII, no spaces or angle brackets: it goes verbatim into List-Unsubscribe.
_URL = re.compile(r"https?://[!-~]+")
_MAX_URL = 900
_SAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9@._+-]+")
_MAX_FILE_STEM = 100


class InvalidEmailError(NurtureError):
    """The email cannot be built: a malformed address or Message-ID (fix the data, then retry)."""


class SendError(NurtureError):
    """Sending failed. `retry_safe` says whether sending the same message again may duplicate it."""

    retry_safe: ClassVar[bool] = False

    def __init__(self, message: str, *, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code

    @property
    def permanent(self) -> bool:
        """A 5xx reply: the same message to the same server will be refused again."""
        return self.smtp_code is not None and 500 <= self.smtp_code < 600


class SendRefused(SendError):
    """The message was certainly not accepted: the failure came before the server could take it
    (connection refused, TLS or authentication failed, sender or recipient refused, the connection
    lost before the final dot went out) or the server said no after the data. Sending again cannot
    produce a duplicate; `permanent` says whether it can succeed."""

    retry_safe = True


class SendOutcomeUnknown(SendError):
    """The whole message went out but the server's verdict never came back (the connection dropped
    or timed out after the final dot). The server may already have queued it, so an automatic
    retry risks a duplicate email to a prospect; a human must check the mail logs first."""

    retry_safe = False


@dataclass(frozen=True)
class OutgoingEmail:
    """One approved email, ready to build. `message_id` is stable per approval (e.g.
    "<approval-id@nurture.local>") so every copy of the same email carries the same id."""

    to_address: str
    to_name: str | None
    subject: str
    body: str
    message_id: str
    unsubscribe_url: str
    from_address: str
    from_name: str


class Sender(Protocol):
    """Anything that can deliver a built message: raises `SendError` when it could not."""

    def send(self, message: EmailMessage) -> None: ...


# --- building --------------------------------------------------------------------------------


def build_message(email: OutgoingEmail, *, now: datetime | None = None) -> EmailMessage:
    """The MIME message for `email`: plain text with an unsubscribe footer plus an HTML twin.

    Raises `InvalidEmailError` for an address or Message-ID that would make a malformed (or
    misdirected) message. `now` fixes the Date header (default: the current UTC time)."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = _mailbox(email.from_name, email.from_address)
    message["To"] = _mailbox(email.to_name, email.to_address)
    message["Subject"] = _one_line(email.subject)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = _message_id(email.message_id)
    # RFC 8058: mailbox providers show an unsubscribe button and POST to the URL themselves.
    # (They only honour it on DKIM-signed mail; signing is the outgoing MTA's job.)
    message["List-Unsubscribe"] = f"<{_unsubscribe_url(email.unsubscribe_url)}>"
    message["List-Unsubscribe-Post"] = ONE_CLICK
    text = with_footer(email.body, email.unsubscribe_url)
    message.set_content(text)
    message.add_alternative(render_html(text, email.unsubscribe_url), subtype="html")
    return message


def with_footer(body: str, unsubscribe_url: str) -> str:
    """The body, ending in one newline, plus an unsubscribe line unless the body already has it."""
    text = body.rstrip()
    if unsubscribe_url in text:
        return text + "\n"
    return text + FOOTER.format(url=unsubscribe_url)


def render_html(text: str, unsubscribe_url: str) -> str:
    """The plain text as escaped HTML paragraphs, with the unsubscribe URL made a link (and
    appended as one if the text lacks it, so the HTML part never loses the way out)."""
    link = f'<a href="{html.escape(unsubscribe_url)}">{html.escape(unsubscribe_url)}</a>'
    url_in_text = html.escape(unsubscribe_url, quote=False)
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        if not block.strip():
            continue
        escaped = html.escape(block.strip(), quote=False).replace(url_in_text, link)
        paragraphs.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    if unsubscribe_url not in text:
        paragraphs.append(f"<p>{link}</p>")
    return "<html><body>\n" + "\n".join(paragraphs) + "\n</body></html>\n"


def _mailbox(name: str | None, address: str) -> str:
    """`Name <address>`, the name RFC 2047-encoded when it is not ASCII, quoted when it needs it."""
    address = address.strip()
    # A comma or bracket in the address would make the To header name other recipients.
    if not _ADDRESS.fullmatch(address):
        raise InvalidEmailError(f"not a single email address: {address!r}")
    if not address.isascii():
        raise InvalidEmailError(
            f"non-ASCII email addresses (SMTPUTF8) are not supported: {address}"
        )
    return formataddr((_one_line(name or ""), address))


def _unsubscribe_url(url: str) -> str:
    too_long = len(url) > _MAX_URL  # the header line must stay under SMTP's 998 characters
    if too_long or not _URL.fullmatch(url) or "<" in url or ">" in url:
        raise InvalidEmailError(f"not an http(s) URL of printable ASCII: {url!r}")
    return url


def _message_id(value: str) -> str:
    message_id = value.strip()
    if not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    if not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidEmailError(f"not a Message-ID like <id@host>: {value!r}")
    return message_id


def _one_line(value: str) -> str:
    # Header values may not contain line breaks (the policy would refuse them); drafts sometimes do.
    return " ".join(value.split())


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP or into an .eml file: CRLF line endings throughout."""
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


# --- SMTP ------------------------------------------------------------------------------------


class SmtpSender:
    """Sends through an SMTP server, one connection per message.

    Transmission is done step by step (rather than with `smtplib.sendmail`) to know how far it
    got when something fails: everything up to the server's 354 reply to DATA happens before the
    server holds the message, so any failure there is `SendRefused`. Once the data and the final
    dot are on their way, a lost connection or a timeout leaves the server's decision unknown, and
    per RFC 5321 it may already have taken responsibility for delivery: `SendOutcomeUnknown`."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        ssl: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls and not ssl  # implicit TLS is already encrypted
        self.ssl = ssl
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        if not settings.smtp_host:
            raise NurtureError("NURTURE_SMTP_HOST is not set")
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            starttls=settings.smtp_starttls,
            ssl=settings.smtp_ssl,
        )

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, message: EmailMessage) -> None:
        sender, recipients = envelope(message)
        data = wire_bytes(message)
        smtp = self._connect()
        try:
            self._prepare(smtp, sender, recipients)
            self._transmit(smtp, data)
        finally:
            _close_quietly(smtp)

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.ssl:
                context = create_default_context()
                return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            return smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except OSError as exc:  # smtplib's own errors are OSErrors too
            raise self._refused(f"could not connect to SMTP server {self.server}", exc) from exc

    def _prepare(self, smtp: smtplib.SMTP, sender: str, recipients: list[str]) -> None:
        """Everything before the server holds the message: TLS, login, envelope, DATA's 354."""
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.starttls:
                # Never fall back to plain text: say which setting turns STARTTLS off instead.
                if not smtp.has_extn("starttls"):
                    raise self._refused(
                        f"SMTP server {self.server} does not offer STARTTLS, which is on by "
                        "default (it protects the login and the mail); for a local server "
                        "without TLS set NURTURE_SMTP_STARTTLS=false",
                        smtplib.SMTPNotSupportedError("no STARTTLS in its EHLO reply"),
                    )
                smtp.starttls(context=create_default_context())
                smtp.ehlo_or_helo_if_needed()  # the greeting is repeated over TLS
            if self.username:
                smtp.login(self.username, self.password or "")
            _expect(smtp.mail(sender), {250}, f"sender {sender}")
            for recipient in recipients:
                _expect(smtp.rcpt(recipient), {250, 251}, f"recipient {recipient}")
            _expect(smtp.docmd("DATA"), {354}, "DATA")
        except _StepRefused as exc:
            raise self._refused(
                f"SMTP server {self.server} refused {exc.step}", exc, exc.smtp_code
            ) from exc
        except smtplib.SMTPResponseException as exc:  # e.g. 535 authentication failed
            raise self._refused(
                f"SMTP server {self.server} refused us", exc, exc.smtp_code
            ) from exc
        except OSError as exc:
            raise self._refused(f"talking to SMTP server {self.server} failed", exc) from exc

    def _transmit(self, smtp: smtplib.SMTP, data: bytes) -> None:
        """The data and the final dot, then the verdict: the point of no return for retries."""
        try:
            smtp.send(_dot_stuffed(data))
        except OSError as exc:
            # The final dot is the last thing sent, so it never left: the server must discard
            # an unterminated message (RFC 5321 4.1.1.4).
            raise self._refused(f"sending to SMTP server {self.server} failed", exc) from exc
        try:
            code, reply = smtp.getreply()
        except OSError as exc:
            raise SendOutcomeUnknown(
                f"the connection to SMTP server {self.server} broke after the whole message was "
                f"sent ({_describe(exc)}); it may or may not have been accepted, so it is not "
                "retried automatically: check the mail server's logs before sending it again"
            ) from exc
        if code != 250:
            # An explicit "no" after the dot is a real refusal: the server did not take it.
            error = smtplib.SMTPDataError(code, reply)
            raise self._refused(f"SMTP server {self.server} rejected the message", error, code)

    def _refused(self, what: str, exc: Exception, code: int | None = None) -> SendRefused:
        return SendRefused(
            f"{what} ({_describe(exc)}); nothing was sent, so sending again is safe",
            smtp_code=code,
        )


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope: the From address and every To and Cc address."""
    if "Bcc" in message:
        # Bcc would need a second, header-less copy; nothing here sends one, so refuse to leak it.
        raise InvalidEmailError("messages with a Bcc header are not supported")
    sender = parseaddr(str(message.get("From", "")))[1]
    fields = [str(value) for name in ("To", "Cc") for value in message.get_all(name, [])]
    recipients = [address for _, address in getaddresses(fields) if address]
    if not sender or not recipients:
        raise InvalidEmailError("a message needs a From address and at least one recipient")
    return sender, recipients


class _StepRefused(smtplib.SMTPResponseException):
    """The server answered one step of the transaction with an error code."""

    def __init__(self, code: int, reply: bytes, step: str) -> None:
        super().__init__(code, reply)
        self.step = step


def _expect(reply: tuple[int, bytes], accepted: set[int], step: str) -> None:
    code, text = reply
    if code not in accepted:
        raise _StepRefused(code, text, step)


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 transparency: a line starting with "." gets another one; then the ending dot."""
    stuffed = re.sub(rb"(?m)^\.", b"..", data)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{exc.smtp_code} {_one_line(text)}"
    return str(exc) or type(exc).__name__


def _close_quietly(smtp: smtplib.SMTP) -> None:
    # A failing QUIT must not turn an accepted message into an error (or mask the real one).
    try:
        smtp.quit()
    except OSError:
        smtp.close()


# --- outbox ----------------------------------------------------------------------------------


class OutboxSender:
    """Writes each message to `<folder>/<message id>.eml` instead of sending it.

    Idempotent by Message-ID: the file for an id that was already written is left as it is, so
    re-running an approval never produces a second copy."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxSender:
        return cls(settings.outbox_path)

    def path_for(self, message_id: str) -> Path:
        return self.folder / outbox_file_name(message_id)

    def send(self, message: EmailMessage) -> None:
        message_id = message.get("Message-ID")
        if not message_id:
            raise InvalidEmailError("a message needs a Message-ID to be written to the outbox")
        target = self.path_for(str(message_id))
        if target.exists():
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, wire_bytes(message))
        except OSError as exc:
            raise SendRefused(f"could not write to the outbox {self.folder}: {exc}") from exc


def outbox_file_name(message_id: str) -> str:
    """A safe file name that reads like the id; ids that had to be altered get a short hash, so
    two different ids never share a file."""
    bare = message_id.strip().strip("<>")
    stem = _SAFE_FILE_CHARS.sub("_", bare)[:_MAX_FILE_STEM].strip("._")
    if stem != bare or not stem:
        digest = hashlib.sha256(bare.encode("utf-8")).hexdigest()[:12]
        stem = f"{stem or 'message'}.{digest}"
    return f"{stem}.eml"


def _write_atomically(target: Path, data: bytes) -> None:
    # A crash mid-write must not leave a truncated file that later counts as "already sent".
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sender_from_settings(settings: Settings) -> Sender:
    """SMTP when a host is configured, otherwise the outbox folder under the data directory."""
    if settings.smtp_host:
        return SmtpSender.from_settings(settings)
    return OutboxSender.from_settings(settings)
