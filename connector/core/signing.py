"""Leadwire's webhook signature: `X-Leadwire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<body>")>`."""
from __future__ import annotations

import hashlib
import hmac

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The signature header is missing, malformed, stale, or does not match."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender puts on `body` at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raise SignatureError unless `header` signs `body` within `tolerance` seconds of `now`."""
    if not header:
        raise SignatureError("missing X-Leadwire-Signature header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, given = parts.get("t", ""), [v for k, v in (p.split("=", 1) for p in header.split(",") if "=" in p) if k == "v1"]
    if not t.isdigit() or not given:
        raise SignatureError("malformed X-Leadwire-Signature header: expected t=<unix seconds>,v1=<hex>")
    if abs(now - int(t)) > tolerance:
        raise SignatureError(f"stale signature: timestamp is more than {tolerance} seconds from now")
    expected = sign(secret, body, int(t)).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, g) for g in given):
        raise SignatureError("signature does not match the body")
