"""Verifying HubSpot webhook signatures (v3, and the older v1/v2), all compared in constant time.

v3: base64(HMAC-SHA256(client secret, method + public URI + raw body + timestamp ms)), refused when the
timestamp is more than five minutes old or more than a minute ahead of our clock. v1 and v2 carry no
timestamp (a captured request replays forever), so they are refused unless the caller allows them
(a flows.yaml source's `signature_versions: [v3, v2]`). The URI is the one HubSpot called — built from
LEADWIRE_PUBLIC_URL, never from the internal address the request arrived on behind a proxy.
v1: hex(SHA-256(secret + body)); v2: hex(SHA-256(secret + method + URI + body)).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection
from typing import Protocol
from urllib.parse import unquote

MAX_AGE_MS = 5 * 60 * 1000
MAX_AHEAD_MS = 60 * 1000
DEFAULT_VERSIONS = ("v3",)
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


def verify_hubspot(secret: str, headers: Headers, *, method: str, uri: str, body: bytes, now_ms: int,
                   versions: Collection[str] = DEFAULT_VERSIONS) -> str:
    """Check a HubSpot webhook request signed with one of `versions` (v3 only by default); return the
    version used, or raise SignatureError saying why not."""
    if not secret:
        raise SignatureError("HUBSPOT_CLIENT_SECRET is not set; cannot verify HubSpot signatures")
    v3 = headers.get("X-HubSpot-Signature-v3")
    if v3:
        if "v3" not in versions:
            raise SignatureError("v3 signatures are not enabled for this source")
        stamp = headers.get("X-HubSpot-Request-Timestamp") or ""
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 16:
            raise SignatureError("X-HubSpot-Request-Timestamp is missing or not a number of milliseconds")
        if now_ms - int(stamp) > MAX_AGE_MS:
            raise SignatureError("X-HubSpot-Request-Timestamp is more than 5 minutes old")
        if int(stamp) - now_ms > MAX_AHEAD_MS:
            raise SignatureError("X-HubSpot-Request-Timestamp is more than a minute in the future")
        if not hmac.compare_digest(v3_signature(secret, method, uri, body, stamp).encode(), v3.encode()):
            raise SignatureError("X-HubSpot-Signature-v3 does not match the body, URI and timestamp")
        return "v3"
    older = headers.get("X-HubSpot-Signature")
    version = (headers.get("X-HubSpot-Signature-Version") or "v1").lower()
    if not older:
        raise SignatureError("no X-HubSpot-Signature-v3 (or X-HubSpot-Signature) header")
    if version not in versions:
        raise SignatureError(f"X-HubSpot-Signature {version} carries no timestamp and is refused: HubSpot apps "
                             "sign with v3 (X-HubSpot-Signature-v3); to accept older versions list them in the "
                             "source's signature_versions in flows.yaml")
    if version == "v1":
        source = secret.encode() + body
    elif version == "v2":
        source = secret.encode() + method.encode() + uri.encode() + body
    else:
        raise SignatureError(f"unknown X-HubSpot-Signature-Version {version!r}")
    if not hmac.compare_digest(hashlib.sha256(source).hexdigest().encode(), older.lower().encode()):
        raise SignatureError(f"X-HubSpot-Signature ({version}) does not match the body")
    return version
