"""Capture: commit every inbound payload to the inbox, then turn it into a lead exactly once.

`accept` runs in the web request: it keys the payload for idempotency, validates the mapping so a bad
payload gets its 422 at once (and is still kept), commits, and queues `capture.process`.
`process` runs as a job: it takes a lease on the inbox row, runs the pure engine, and stores the lead,
its account and its timeline in one transaction. `retake_stalled` (a tick step) re-queues rows whose
job was lost or whose worker died, so a crash delays a lead but never loses it.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.capture import decide
from connector.core.errors import InvalidLead, NotFound
from connector.core.runtime import Runtime
from connector.flows import map_payload
from connector.store.models import DELIVERY_CHANNELS, InboxItem
from connector.store.statuses import InboxStatus

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
STALL_GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Receipt:
    """What the sender is told: the inbox id, its status, field errors, and whether it was seen before."""

    inbox_id: int
    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False


def idempotency_key(raw: bytes, header: str | None) -> str:
    """The sender's Idempotency-Key, or the body's SHA-256 when it sent none."""
    if header:
        return header.strip()[:200]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The lead fields in a body: a JSON object, or form-encoded fields. ValueError says what is wrong."""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object of lead fields")
    return payload


def accept(rt: Runtime, *, source: str, channel: str, raw: bytes, payload: dict[str, Any], idempotency_key: str,
           record: dict[str, Any] | None = None, content_type: str = "application/json") -> Receipt:
    """Commit the payload to the inbox (once per source and key) and queue its processing."""
    errors: list[dict[str, Any]] = []
    try:
        map_payload(rt.spec, source, record if record is not None else payload)
    except InvalidLead as exc:
        errors = [e.as_dict() for e in exc.errors]
    item = InboxItem(source=source, channel=channel, idempotency_key=idempotency_key,
                     payload=raw.decode("utf-8", "replace"), content_type=content_type, record=record,
                     received_at=rt.clock.now(), status=InboxStatus.REJECTED if errors else InboxStatus.RECEIVED,
                     errors=errors or None)
    try:
        with rt.db.session() as s:
            s.add(item)
            s.flush()
            inbox_id = item.id
    except IntegrityError:  # seen before (the unique key says so): answer with the first delivery
        replay = _find(rt, source, idempotency_key)
        if replay is None:
            raise
        return replay
    if not errors:
        rt.queue.enqueue("capture.process", inbox_id)
    return Receipt(inbox_id, item.status, errors)


def _find(rt: Runtime, source: str, key: str) -> Receipt | None:
    with rt.db.session() as s:
        row = s.execute(select(InboxItem.id, InboxItem.status, InboxItem.errors)
                        .where(InboxItem.source == source, InboxItem.idempotency_key == key)).first()
    return Receipt(row.id, row.status, row.errors or [], replayed=True) if row else None


def _take_lease(rt: Runtime, inbox_id: int, now: datetime) -> bool:
    """Claim the row for LEASE; False if it is done or another worker holds a live lease."""
    with rt.db.session() as s:
        result = s.execute(
            update(InboxItem)
            .where(InboxItem.id == inbox_id, InboxItem.status == InboxStatus.RECEIVED,
                   InboxItem.channel.not_in(DELIVERY_CHANNELS.values()),  # CRM deliveries are sync's
                   or_(InboxItem.lease_until.is_(None), InboxItem.lease_until < now))
            .values(lease_until=now + LEASE, attempts=InboxItem.attempts + 1)
        )
        taken = cast(CursorResult[Any], result).rowcount  # an UPDATE's result is a CursorResult
    return taken == 1


def process(rt: Runtime, inbox_id: int) -> None:
    """Task `capture.process`: turn one inbox row into a lead decision; safe to run twice."""
    now = rt.clock.now()
    if not _take_lease(rt, inbox_id, now):
        return
    try:
        with rt.db.session() as s:
            item = s.get(InboxItem, inbox_id, with_for_update=rt.db.dialect == "postgresql")
            if item is None:  # the lease was just taken on it: only a concurrent delete gets here
                raise NotFound(f"no inbox row {inbox_id}")
            if item.status != InboxStatus.RECEIVED:
                return
            body = item.record if item.record is not None else parse_body(item.payload.encode(), item.content_type)
            try:
                fields = map_payload(rt.spec, item.source, body)
            except InvalidLead as exc:
                problems = [e.as_dict() for e in exc.errors]
                item.status, item.errors, item.processed_at = InboxStatus.REJECTED, problems, now
                return
            lead = decide.decide_and_store(s, rt, fields, source=item.source, inbox_id=item.id, now=now)
            item.status, item.lead_id, item.processed_at, item.lease_until = InboxStatus.PROCESSED, lead.id, now, None
    except Exception as exc:
        _record_failure(rt, inbox_id, exc)
        raise


def _record_failure(rt: Runtime, inbox_id: int, exc: Exception) -> None:
    """Keep the error's type (never the payload) and give up after MAX_ATTEMPTS."""
    log.warning("inbox %s: processing failed with %s", inbox_id, type(exc).__name__)
    with rt.db.session() as s:
        item = s.get(InboxItem, inbox_id)
        if item and item.attempts >= MAX_ATTEMPTS:
            item.status = InboxStatus.FAILED
            item.errors = [{"field": "", "problem": f"processing failed {item.attempts} times: {type(exc).__name__}"}]


def retake_stalled(rt: Runtime, now: datetime) -> int:
    """Tick step: re-queue received rows whose job never ran or whose worker died mid-job."""
    with rt.db.session() as s:
        ids = list(s.scalars(
            select(InboxItem.id).where(
                InboxItem.status == InboxStatus.RECEIVED,
                InboxItem.channel.not_in(DELIVERY_CHANNELS.values()),  # CRM deliveries are retaken by sync
                or_(InboxItem.lease_until < now,
                    (InboxItem.lease_until.is_(None)) & (InboxItem.received_at < now - STALL_GRACE)))
            .order_by(InboxItem.id).limit(500)))
    for inbox_id in ids:
        rt.queue.enqueue("capture.process", inbox_id)
    return len(ids)


def inbox_summary(session: Session, inbox_id: int) -> dict[str, Any]:
    """The inbox row's public status (no payload): for GET /api/inbox/<id>."""
    item = session.get(InboxItem, inbox_id)
    if item is None:
        return {}
    return {"id": item.id, "source": item.source, "channel": item.channel, "status": item.status,
            "errors": item.errors or [], "lead_id": item.lead_id, "attempts": item.attempts,
            "received_at": item.received_at.isoformat(),
            "processed_at": item.processed_at.isoformat() if item.processed_at else None}

