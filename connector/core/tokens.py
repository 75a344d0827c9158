"""Signed, expiring tokens for no-login links (offer and feedback pages).

A token carries a purpose, an object id and a nonce; it is signed with LEADWIRE_SECRET_KEY and
expires at an absolute time. "Works once" is enforced by the caller against the database state
(e.g. the offer is no longer pending, or the nonce no longer matches).
"""
from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from connector.core.bounds import id_in_range
from connector.core.errors import TokenError


class Tokens:
    """Make and read tokens for one secret key."""

    def __init__(self, secret_key: str):
        self._serializer = URLSafeSerializer(secret_key, salt="leadwire-link")

    def make(self, purpose: str, object_id: int, *, expires_at: datetime, nonce: str = "") -> str:
        """A URL-safe token for `purpose` (e.g. "offer") and `object_id`, valid until `expires_at`."""
        return self._serializer.dumps([purpose, object_id, int(expires_at.timestamp()), nonce])

    def read(self, token: str, purpose: str, *, now: datetime) -> tuple[int, str]:
        """Return (object_id, nonce); raise TokenError if tampered, for another purpose, or expired."""
        try:
            got_purpose, object_id, expires, nonce = self._serializer.loads(token)
        except (BadSignature, ValueError, TypeError) as exc:
            raise TokenError("this link is not valid: it was changed or cut short") from exc
        if not (isinstance(got_purpose, str) and id_in_range(object_id) and isinstance(expires, (int, float))
                and not isinstance(expires, bool) and isinstance(nonce, str)):  # signed, but not by make()
            raise TokenError("this link is not valid: it was changed or cut short")
        if got_purpose != purpose:
            raise TokenError("this link is not valid here")
        if now.timestamp() > expires:
            raise TokenError("this link has expired")
        return int(object_id), str(nonce)
