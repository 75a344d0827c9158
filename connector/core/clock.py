"""The clock, injectable so timers are tested without sleeping."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


class Clock:
    """Real time. Every use case takes a clock instead of calling datetime.now()."""

    def now(self) -> datetime:
        return utcnow()


class FakeClock(Clock):
    """A clock that moves only when told to (tests, demo, `tick --at`)."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when if when.tzinfo else when.replace(tzinfo=UTC)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def as_utc(value: datetime | None) -> datetime | None:
    """Treat naive datetimes (as SQLite returns them) as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
