"""Unsubscribe links the service owns: a signed, unguessable token per lead in every email, and
what following one records.

The token is an itsdangerous signature (salted for this one purpose, so a token signed for
anything else never passes here) over the lead id, with the time it was made: it cannot be
forged, names exactly one lead, and stays valid for `unsubscribe_link_days` (≥ 60). The key is
generated on first use and kept in the database (agent/store/secrets.py), so every replica and
every restart checks with the same one; there is no default to forget to change.

A draft carries its link from the moment it is written (the guardrails require the line), so an
edit and the send put a freshly signed one in its place (`refresh`): the validity counts from
the day the email went out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from agent.errors import NurtureError
from agent.playbook import Playbook
from agent.settings import Settings
from agent.store.database import Database
from agent.store.ingest import ingest_events
from agent.store.secrets import service_secret

SECRET_NAME = "unsubscribe-links"
SALT = "nurture.unsubscribe.v1"
TOKEN_SLOT = "{token}"
_TOKEN_CHARS = r"[A-Za-z0-9_\-.]+"  # what URLSafeTimedSerializer produces
SECONDS_PER_DAY = 86_400


class BadUnsubscribeToken(NurtureError):
    """The token was not made by this service for a lead (tampered, truncated, from another
    purpose), or it is too old. `expired` says which."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class UnsubscribeLinks:
    secret: str
    template: str
    """The link with TOKEN_SLOT where the token goes."""
    max_age_days: int

    def _serializer(self, at: datetime | None = None) -> URLSafeTimedSerializer:
        if at is None:
            return URLSafeTimedSerializer(self.secret, salt=SALT)
        stamp = int(at.timestamp())

        class SignedAt(TimestampSigner):
            def get_timestamp(self) -> int:
                return stamp

        return URLSafeTimedSerializer(self.secret, salt=SALT, signer=SignedAt)

    def token(self, lead_id: str, at: datetime | None = None) -> str:
        """Signed as of `at` (the run's clock: an eval run's drafts come out the same every
        time), else now."""
        return self._serializer(at).dumps(lead_id)

    def url_for(self, lead_id: str, at: datetime | None = None) -> str:
        return self.template.replace(TOKEN_SLOT, quote(self.token(lead_id, at), safe=""))

    def lead_for(self, token: str) -> str:
        """The lead a token was made for; BadUnsubscribeToken when it is not ours or too old."""
        try:
            lead_id = self._serializer().loads(token, max_age=self.max_age_days * SECONDS_PER_DAY)
        except SignatureExpired as exc:
            raise BadUnsubscribeToken(
                f"this unsubscribe link is older than {self.max_age_days} days", expired=True
            ) from exc
        except BadSignature as exc:
            raise BadUnsubscribeToken("this unsubscribe link is not valid") from exc
        if not isinstance(lead_id, str) or not lead_id:
            raise BadUnsubscribeToken("this unsubscribe link is not valid")
        return lead_id

    def refresh(self, text: str, lead_id: str, at: datetime | None = None) -> str:
        """`text` with every link of ours (any token) replaced by a fresh one for `lead_id`."""
        prefix, _, suffix = self.template.partition(TOKEN_SLOT)
        pattern = re.compile(re.escape(prefix) + _TOKEN_CHARS + re.escape(suffix))
        fresh = self.url_for(lead_id, at)
        return pattern.sub(lambda _: fresh, text)


def unsubscribe_links(settings: Settings, db: Database) -> UnsubscribeLinks:
    """The links as configured: the service's own page, or the team's preference centre."""
    # read each time (one primary-key lookup): a cache could outlive a database made anew
    secret = service_secret(db, SECRET_NAME)
    return UnsubscribeLinks(secret, link_template(settings), settings.unsubscribe_link_days)


def link_template(settings: Settings) -> str:
    own = settings.unsubscribe_url
    if not own:
        return settings.public_url.rstrip("/") + "/unsubscribe/" + TOKEN_SLOT
    if TOKEN_SLOT in own:
        return own
    return own + ("&" if "?" in own else "?") + "token=" + TOKEN_SLOT


def record_unsubscribe(
    db: Database, playbook: Playbook, lead_id: str, *, now: datetime, via: str
) -> str:
    """Puts an `unsubscribe` event on the lead's timeline at once (the playbook's suppress
    rule does the rest). One a day per lead: a second click is a duplicate, not a new event.
    Returns the ingest status (stored, duplicate) or raises LookupError for an unknown lead."""
    report = ingest_events(
        db,
        [
            {
                "id": f"unsubscribe-link-{lead_id}-{now:%Y%m%d}",
                "lead_id": lead_id,
                "type": "unsubscribe",
                "occurred_at": now.isoformat(),
                "properties": {"via": via},
            }
        ],
        playbook,
        now=now,
    )
    result = report.results[0]
    if result.status == "rejected":
        raise LookupError(result.reason or lead_id)
    return result.status
