"""The one small interface every CRM adapter offers, its value objects, and the shared retry policy.

    read(ids)               -> {id: fields}                 one batch call per batch-limit ids
    push(changes)           -> [PushResult]                 one result per change: ok | parked | retry
    changes_since(cursor)   -> ([RecordChange], new_cursor) paged, oldest first
    owners()                -> [Owner]                      the CRM's users who can own records
    schema_problems(fields) -> [message]                    what the CRM lacks of these fields, and the fix
    setup_schema(fields)    -> [message]                    create what the API allows; what was done
    delete(record_ids)      -> None                         privacy deletion of these records
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connector.core.errors import CrmError, CrmTransientError

log = logging.getLogger("leadwire.crm")
T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    """One write for one CRM record: update by `record_id` when known, else upsert by `external_id`."""

    key: str
    fields: dict[str, Any]
    record_id: str | None = None
    external_id: str | None = None

    def __post_init__(self) -> None:
        if not self.record_id and not self.external_id:
            raise ValueError(f"change {self.key!r} needs a record_id or an external_id to be written idempotently")


class PushStatus(StrEnum):
    """What became of one Change (the CRM's answer, not a Leadwire status column)."""

    OK = "ok"
    PARKED = "parked"
    RETRY = "retry"


@dataclass(frozen=True)
class PushResult:
    """What became of one Change: ok (with the CRM's id), parked (the CRM refused it) or retry (try later)."""

    key: str
    status: str  # a PushStatus: ok | parked | retry
    record_id: str | None = None
    message: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == PushStatus.OK


@dataclass(frozen=True)
class RecordChange:
    """A record as it now stands in the CRM, with when and by whom it was last changed.

    by_leadwire: True when Leadwire's own integration user made the last change (an echo), False when
    someone else did, None when the CRM does not say.
    """

    record_id: str
    fields: dict[str, Any]
    modified_at: datetime | None = None
    modified_by: str | None = None
    by_leadwire: bool | None = None


@dataclass(frozen=True)
class Owner:
    """A CRM user who can own records."""

    id: str
    email: str


class CrmAdapter(Protocol):
    name: str
    object: str
    batch_limit: int

    def read(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def push(self, changes: list[Change]) -> list[PushResult]: ...
    def changes_since(self, cursor: str | None) -> tuple[list[RecordChange], str | None]: ...
    def owners(self) -> list[Owner]: ...
    def track(self, fields: Iterable[str]) -> None: ...
    def schema_problems(self, fields: Iterable[str], *,
                        values: Mapping[str, Iterable[str]] | None = None) -> list[str]: ...
    def setup_schema(self, fields: Iterable[str]) -> list[str]: ...
    def delete(self, record_ids: list[str]) -> None: ...


@dataclass
class RetryPolicy:
    """tenacity settings shared by the adapters: transient errors only, honouring Retry-After.

    Waits longer than `max_inline_wait` are not slept in-process: the error goes back to the caller,
    which parks the outbox row until then (a worker never blocks for minutes).
    """

    attempts: int = 5
    base_wait: float = 0.5
    max_wait: float = 30.0
    max_inline_wait: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)  # every wait used, for tests and metrics

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, CrmTransientError) and (exc.retry_after or 0) <= self.max_inline_wait

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            wait = float(after)
        else:
            wait = min(self.max_wait, self.base_wait * 2 ** (state.attempt_number - 1))
        self.waits.append(wait)
        return wait

    def call(self, fn: Callable[[], T], what: str) -> T:
        """Run fn (which raises translated CrmErrors), retrying transient ones."""
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("crm call %s failed (%s), retrying", what, type(exc).__name__)

        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=self._wait, sleep=self.sleep,
                            retry=retry_if_exception(self._retryable), reraise=True, before_sleep=before_sleep)
        return retrying(fn)


def failed_results(changes: list[Change], exc: CrmError) -> list[PushResult]:
    """The same outcome for every change of a call that failed as a whole."""
    status = PushStatus.RETRY if isinstance(exc, CrmTransientError) else PushStatus.PARKED
    return [PushResult(c.key, status, c.record_id, str(exc), exc.retry_after) for c in changes]


def chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def parse_time(stamp: str | None) -> datetime | None:
    """An ISO-8601 time as the CRMs send it ("Z" for UTC), or None."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
