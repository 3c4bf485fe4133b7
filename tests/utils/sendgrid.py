"""A test key pair standing in for SendGrid's Signed Event Webhook keys."""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


class SendGridKeys:
    """A test key pair standing in for SendGrid's: the public half is what the service is
    configured with (base64 DER, as SendGrid shows it), the private half signs like SendGrid."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())

    @property
    def public(self) -> str:
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        stamp = timestamp or str(int(time.time()))
        signed = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            SIGNATURE: base64.b64encode(signed).decode(),
            TIMESTAMP: stamp,
            "Content-Type": "application/json",
        }


def hard_bounce(email: str, message_id: str, event_id: str = "sg-evt-bounce-1") -> bytes:
    """A SendGrid Event Webhook body for a hard bounce: our Message-ID comes back in smtp-id."""
    return json.dumps(
        [
            {
                "email": email,
                "timestamp": int(time.time()) - 5,
                "smtp-id": message_id,
                "event": "bounce",
                "category": ["nurture"],
                "sg_event_id": event_id,
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                "reason": "550 5.1.1 The email account that you tried to reach does not exist",
                "status": "5.1.1",
                "type": "bounce",
            }
        ]
    ).encode()
