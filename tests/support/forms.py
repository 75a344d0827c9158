"""Signed web-form posts, as a website backend would send them."""
from __future__ import annotations

import json
import time

from connector.core.signing import sign


def signed_headers(secret: str, body: bytes, *, at: float | None = None, **extra) -> dict:
    key = extra.get("Idempotency-Key")  # the signature covers the key the request carries
    headers = {"X-Leadwire-Signature": sign(secret, body, int(at if at is not None else time.time()), key),
               "Content-Type": "application/json"}
    headers.update(extra)
    return headers


def post_form(client, secret: str, payload, *, source: str = "website", at: float | None = None, **headers):
    """POST a payload (dict → JSON, bytes as-is) to /hooks/forms/<source> with a valid signature."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(f"/hooks/forms/{source}", data=body, headers=signed_headers(secret, body, at=at, **headers))
