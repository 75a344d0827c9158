"""Signed form tokens against cross-site requests for the dashboard's state-changing forms.

A token is a per-session random nonce signed (itsdangerous) with the app's secret key: it is valid only
in the browser session that was shown the form, for MAX_AGE seconds. Forms carry it as FIELD.
"""
from __future__ import annotations

import hmac
import secrets

from flask import session
from itsdangerous import BadSignature, URLSafeTimedSerializer

FIELD = "csrf_token"
SESSION_NONCE = "leadwire_csrf"
SALT = "leadwire-dashboard-form"
MAX_AGE = 12 * 3600


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def token(secret_key: str) -> str:
    """A token for a form shown in this session (the session's nonce is made on first use)."""
    nonce = session.get(SESSION_NONCE)
    if not nonce:
        nonce = session[SESSION_NONCE] = secrets.token_urlsafe(16)
    return _serializer(secret_key).dumps(nonce)


def valid(secret_key: str, given: str | None) -> bool:
    """True when `given` was made by `token` in this session and is not older than MAX_AGE."""
    nonce = session.get(SESSION_NONCE)
    if not given or not nonce:
        return False
    try:
        signed = _serializer(secret_key).loads(given, max_age=MAX_AGE)
    except BadSignature:  # tampered, from another secret, or expired (SignatureExpired)
        return False
    return isinstance(signed, str) and hmac.compare_digest(signed, nonce)
