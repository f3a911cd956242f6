"""Standard Webhooks secrets and signatures (https://www.standardwebhooks.com/).

A secret is ``whsec_`` followed by the base64 of 24 to 64 random bytes; the signature of
a delivery is ``v1,`` and the base64 of HMAC-SHA256, keyed with those bytes, over
``"<webhook-id>.<webhook-timestamp>.<body>"``. During a secret rotation a delivery
carries one signature per secret, separated by spaces, so a receiver that knows either
accepts it. Receivers verify with that project's libraries in any language.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from business.errors import InvalidInput

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_MIN_KEY, _MAX_KEY = 24, 64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``; ``InvalidInput`` unless it is ``whsec_`` and the base64
    of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidInput(f"a webhook secret starts with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("a webhook secret is whsec_ followed by base64") from None
    if not _MIN_KEY <= len(key) <= _MAX_KEY:
        raise InvalidInput(f"a webhook secret holds {_MIN_KEY} to {_MAX_KEY} bytes, not {len(key)}")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``message_id.timestamp.body`` (UTF-8)."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_headers(
    message_id: str, timestamp: int, body: str, signing_secrets: tuple[str, ...]
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (the timestamp is the attempt's,
    so that receivers' replay windows accept a late retry)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(s, message_id, timestamp, body) for s in signing_secrets
        ),
    }
