"""The API key guard: every /api blueprint registers `require_api_key` as its before_request hook.

`Authorization: Bearer <LEADWIRE_API_KEY>`, compared in constant time; the API is closed (503) when no
key is set, and a missing or wrong key is a 401. Both answer with the JSON error body of ApiError.
"""
from __future__ import annotations

import hmac

from flask import request

from connector.core.runtime import Runtime
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError


def check_api_key(rt: Runtime) -> None:
    """Raise ApiError(503) when the API is disabled, ApiError(401) unless the request carries the key."""
    expected = rt.settings.api_key
    if not expected:
        raise ApiError(503, "the API is disabled: set LEADWIRE_API_KEY")
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "missing or wrong API key (Authorization: Bearer <LEADWIRE_API_KEY>)")


def has_api_key(rt: Runtime) -> bool:
    """True when the request carries the right key (for pages that also take a login)."""
    try:
        check_api_key(rt)
    except ApiError:
        return False
    return True


def require_api_key() -> None:
    """The before_request hook of every API blueprint: `bp.before_request(require_api_key)`."""
    check_api_key(current_runtime())
