"""Leadwire's webhook signature: `X-Leadwire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(message)>`.

The message is `"<t>.<raw body>"`, or `"<t>.<Idempotency-Key>.<raw body>"` when the request carries an
Idempotency-Key header, so that a captured request cannot be replayed under a new key. A timestamp more
than TOLERANCE_SECONDS old, or more than FUTURE_SECONDS ahead of our clock, is refused.
"""
from __future__ import annotations

import hashlib
import hmac

TOLERANCE_SECONDS = 300
FUTURE_SECONDS = 60


class SignatureError(Exception):
    """The signature header is missing, malformed, stale, or does not match."""


def message(body: bytes, timestamp: int, idempotency_key: str | None = None) -> bytes:
    """The bytes a sender signs: the timestamp, the Idempotency-Key (when sent) and the raw body."""
    key = f"{idempotency_key}." if idempotency_key is not None else ""
    return f"{timestamp}.{key}".encode() + body


def sign(secret: str, body: bytes, timestamp: int, idempotency_key: str | None = None) -> str:
    """The header value a sender puts on `body` at `timestamp` (with the Idempotency-Key it sends, if any)."""
    mac = hmac.new(secret.encode(), message(body, timestamp, idempotency_key), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS,
           idempotency_key: str | None = None) -> None:
    """Raise SignatureError unless `header` signs `body` (and `idempotency_key`, when the request has one)
    no more than `tolerance` seconds ago and no more than FUTURE_SECONDS ahead of `now`."""
    if not header:
        raise SignatureError("missing X-Leadwire-Signature header")
    pairs = [p.split("=", 1) for p in header.split(",") if "=" in p]
    t = next((v for k, v in pairs if k.strip() == "t"), "")
    given = [v for k, v in pairs if k.strip() == "v1"]
    if not (t.isascii() and t.isdigit()) or len(t) > 12 or not given:
        raise SignatureError("malformed X-Leadwire-Signature header: expected t=<unix seconds>,v1=<hex>")
    if now - int(t) > tolerance:
        raise SignatureError(f"stale signature: timestamp is more than {tolerance} seconds old")
    if int(t) - now > FUTURE_SECONDS:
        raise SignatureError(f"signature timestamp is more than {FUTURE_SECONDS} seconds in the future: "
                             "check the sender's clock")
    expected = sign(secret, body, int(t), idempotency_key).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected.encode(), g.strip().encode()) for g in given):
        raise SignatureError("signature does not match the body" +
                             (" and Idempotency-Key" if idempotency_key is not None else ""))
