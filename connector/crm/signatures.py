"""Verifying HubSpot webhook signatures (v3, and the older v1/v2), all compared in constant time.

v3: base64(HMAC-SHA256(client secret, method + public URI + raw body + timestamp ms)), refused when the
timestamp is more than five minutes old. The URI is the one HubSpot called — built from
LEADWIRE_PUBLIC_URL, never from the internal address the request arrived on behind a proxy.
v1: hex(SHA-256(secret + body)); v2: hex(SHA-256(secret + method + URI + body)).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Protocol
from urllib.parse import unquote

MAX_AGE_MS = 5 * 60 * 1000
# HubSpot decodes these percent-escapes in the URI before signing (its v3 documentation lists them)
_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C", "%3B")


class SignatureError(Exception):
    """The request is not provably from HubSpot; the message says why (never the secret)."""


class Headers(Protocol):
    """Request headers as read here: a dict, or a web framework's case-insensitive headers."""

    def get(self, key: str, /) -> str | None: ...


def public_uri(public_url: str, path: str, query: str = "") -> str:
    """The URI HubSpot signed: LEADWIRE_PUBLIC_URL + the request path (+ query string)."""
    uri = public_url.rstrip("/") + path + (f"?{query}" if query else "")
    for escape in _DECODED:
        uri = uri.replace(escape, unquote(escape)).replace(escape.lower(), unquote(escape))
    return uri


def v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify_hubspot(secret: str, headers: Headers, *, method: str, uri: str, body: bytes, now_ms: int) -> str:
    """Check a HubSpot webhook request; return the signature version used, or raise SignatureError."""
    if not secret:
        raise SignatureError("HUBSPOT_CLIENT_SECRET is not set; cannot verify HubSpot signatures")
    v3 = headers.get("X-HubSpot-Signature-v3")
    if v3:
        stamp = headers.get("X-HubSpot-Request-Timestamp") or ""
        if not stamp.isdigit():
            raise SignatureError("X-HubSpot-Request-Timestamp is missing or not a number of milliseconds")
        if abs(now_ms - int(stamp)) > MAX_AGE_MS:
            raise SignatureError("X-HubSpot-Request-Timestamp is more than 5 minutes old")
        if not hmac.compare_digest(v3_signature(secret, method, uri, body, stamp).encode(), v3.encode()):
            raise SignatureError("X-HubSpot-Signature-v3 does not match the body, URI and timestamp")
        return "v3"
    older = headers.get("X-HubSpot-Signature")
    version = (headers.get("X-HubSpot-Signature-Version") or "v1").lower()
    if not older:
        raise SignatureError("no X-HubSpot-Signature-v3 (or X-HubSpot-Signature) header")
    if version == "v1":
        source = secret.encode() + body
    elif version == "v2":
        source = secret.encode() + method.encode() + uri.encode() + body
    else:
        raise SignatureError(f"unknown X-HubSpot-Signature-Version {version!r}")
    if not hmac.compare_digest(hashlib.sha256(source).hexdigest().encode(), older.lower().encode()):
        raise SignatureError(f"X-HubSpot-Signature ({version}) does not match the body")
    return version
