"""The dashboard's login state: server-side sessions (logout ends them everywhere) and login throttling.

A session is a random id in the signed cookie; the server keeps id -> fingerprint of the password it was
opened with, so logout (or a changed password) makes a copied cookie worthless. Failed logins are counted
per client address and per account; past the limit both are locked out for LOCKOUT seconds, the right
password included. Everything lives in Redis when REDIS_URL is set (shared by every web process), else
in this process; time comes from the runtime's clock.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from connector.core.runtime import Runtime
from connector.crm.limits import Limits, MemoryLimits, RedisLimits

log = logging.getLogger("connector.web.audit")

SESSION_TTL = 12 * 3600
WINDOW = 15 * 60           # failures are counted in windows of this many seconds
LOCKOUT = 15 * 60          # and past the limit, the client (or the account) waits this long
CLIENT_FAILURES = 5        # failed logins from one address before it is locked out
ACCOUNT_FAILURES = 20      # failed logins on one account (from anywhere) before it is locked out
ACCOUNT = "admin"          # the one dashboard account (LEADWIRE_ADMIN_PASSWORD)


class Sessions(Protocol):
    def start(self, sid: str, value: str, ttl: int) -> None: ...
    def get(self, sid: str) -> str | None: ...
    def end(self, sid: str) -> None: ...


class MemorySessions:
    """Sessions held in this process (the embedded default, tests)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def start(self, sid: str, value: str, ttl: int) -> None:
        with self._lock:
            self._held = {k: v for k, v in self._held.items() if v[1] > self.now()}  # forget expired ones
            self._held[sid] = (value, self.now() + ttl)

    def get(self, sid: str) -> str | None:
        with self._lock:
            value, until = self._held.get(sid, ("", 0.0))
        return value if until > self.now() else None

    def end(self, sid: str) -> None:
        with self._lock:
            self._held.pop(sid, None)


class RedisSessions:
    """Sessions in Redis, seen by every web process of a deployment."""

    def __init__(self, connection: Any, prefix: str = "leadwire:dashboard:session:") -> None:
        self.redis, self.prefix = connection, prefix

    def start(self, sid: str, value: str, ttl: int) -> None:
        self.redis.set(self.prefix + sid, value, ex=ttl)

    def get(self, sid: str) -> str | None:
        value = self.redis.get(self.prefix + sid)
        return value.decode() if isinstance(value, bytes) else value

    def end(self, sid: str) -> None:
        self.redis.delete(self.prefix + sid)


@dataclass
class LoginGuard:
    """Sessions and failure counts of one app."""

    sessions: Sessions
    limits: Limits
    now: Callable[[], float]
    secret_key: str

    def locked_for(self, client: str) -> float:
        """Seconds until `client` (and the account) may try again; 0 when they may now."""
        return max(self.limits.wait(self._client_key(client)), self.limits.wait(f"account:{ACCOUNT}"))

    def failed(self, client: str) -> float:
        """Count a failed login; the seconds of lockout it starts (0: none), with an audit line."""
        locked = 0.0
        for key, limit in ((self._client_key(client), CLIENT_FAILURES), (f"account:{ACCOUNT}", ACCOUNT_FAILURES)):
            if self.limits.take(key, limit - 1, WINDOW) > 0:  # this failure is the limit-th in the window
                self.limits.block(key, self.now() + LOCKOUT)
                locked = LOCKOUT
        log.warning("dashboard login failed: client %s, account %s%s", self.tag(client), ACCOUNT,
                    f", locked out for {LOCKOUT} s" if locked else "")
        return locked

    def refused(self, client: str, seconds: float) -> None:
        log.warning("dashboard login refused: client %s is locked out for %d s more", self.tag(client), seconds)

    def succeeded(self, client: str) -> None:
        log.info("dashboard login: client %s, account %s", self.tag(client), ACCOUNT)

    def tag(self, client: str) -> str:
        """A keyed hash of the client address: audit lines can be correlated, never read back to a person."""
        return hmac.new(self.secret_key.encode(), b"client:" + client.encode(), hashlib.sha256).hexdigest()[:12]

    def _client_key(self, client: str) -> str:
        return f"client:{self.tag(client)}"


def guard_for(rt: Runtime) -> LoginGuard:
    """A guard in Redis when REDIS_URL is set, else in this process; time from the runtime's clock."""
    def now() -> float:
        return rt.clock.now().timestamp()

    if rt.settings.redis_url:
        conn = redis.Redis.from_url(rt.settings.redis_url)
        return LoginGuard(RedisSessions(conn), RedisLimits(conn, prefix="leadwire:login:", now=now), now,
                          rt.settings.secret_key)
    return LoginGuard(MemorySessions(now), MemoryLimits(now), now, rt.settings.secret_key)
