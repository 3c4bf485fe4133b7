"""Checking that a webhook request comes from the mail system it claims to: SendGrid's ECDSA
signature (its own EventWebhook helper), Mailgun's HMAC of timestamp and token, and our generic
webhook's HMAC of the body. Each answers None when the request is genuine, else why not."""

from __future__ import annotations

import binascii
import hashlib
import hmac

from sendgrid.helpers.eventwebhook import EventWebhook

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
GENERIC_SIGNATURE = "X-Nurture-Signature"


def sendgrid_problem(
    public_key: str, body: bytes, signature: str | None, timestamp: str | None
) -> str | None:
    if not signature or not timestamp:
        return f"unsigned: the {SENDGRID_SIGNATURE} and {SENDGRID_TIMESTAMP} headers are required"
    try:
        helper = EventWebhook()
        key = helper.convert_public_key_to_ecdsa(public_key)
    except ValueError:
        return "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid ECDSA public key"
    try:
        payload = body.decode("utf-8")
        valid = helper.verify_signature(payload, signature, timestamp, key)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False
    return None if valid else "the signature does not match the body and timestamp"


def mailgun_problem(signing_key: str, signature: object) -> str | None:
    """Mailgun signs `timestamp + token` with HMAC-SHA256 under the webhook signing key."""
    if not isinstance(signature, dict):
        return "unsigned: the body has no 'signature' object"
    timestamp, token, given = (signature.get(k) for k in ("timestamp", "token", "signature"))
    if not all(isinstance(v, str | int) and str(v) for v in (timestamp, token, given)):
        return "unsigned: 'signature' needs timestamp, token and signature"
    expected = hmac.new(
        signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, str(given)):
        return "the signature does not match the timestamp and token"
    return None


def generic_signature(secret: str, body: bytes) -> str:
    """The header value a sender of the generic webhook computes: sha256=<hex HMAC of body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def generic_problem(secret: str, body: bytes, signature: str | None) -> str | None:
    if not signature:
        return f"unsigned: the {GENERIC_SIGNATURE} header (sha256=<hex HMAC>) is required"
    if not hmac.compare_digest(generic_signature(secret, body), signature.strip()):
        return "the signature does not match the body"
    return None
