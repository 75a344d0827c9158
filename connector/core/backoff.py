"""The one retry policy of Leadwire's outboxes (CRM writes and e-mails): exponential, capped, and
overridden by the other side's Retry-After when it sends one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """Wait `first` after the first failed attempt, `factor` times longer after each next one, never
    more than `cap`; `max_attempts` (None: never give up) is when a row stops being retried."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.factor < 1 or self.cap < self.first:
            raise ValueError(f"backoff needs first > 0, factor >= 1 and cap >= first; got {self!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1 or None, not {self.max_attempts!r}")

    def wait(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """How long to wait after `attempts` failed attempts (1 = the first); Retry-After seconds win."""
        if retry_after:
            return timedelta(seconds=retry_after)
        return min(self.cap, self.first * self.factor ** max(0, attempts - 1))

    def exhausted(self, attempts: int) -> bool:
        """True once `attempts` attempts have been made and no more are allowed."""
        return self.max_attempts is not None and attempts >= self.max_attempts


# CRM writes retry until they succeed or the CRM refuses them (parked); e-mails give up after about a day
CRM_WRITES = Backoff()
EMAILS = Backoff(cap=timedelta(hours=6), factor=4.0, max_attempts=8)
