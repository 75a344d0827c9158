"""Capture: commit every inbound payload to the inbox, then wake a worker to turn it into a lead.

`accept` runs in the web request: it keys the payload for idempotency, validates the mapping so a bad
payload gets its 422 at once (and is still kept), commits (one insert, one commit), and wakes task
`capture.drain` — a wake-up that coalesces while one is pending, not a job per lead. The worker side
(capture/batch.py) claims rows in batches. `retake_stalled` (a tick step) wakes the drain when rows
wait whose wake-up was lost or whose lease ran out, so a crash delays a lead but never loses it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.errors import InvalidLead
from connector.core.runtime import Runtime
from connector.flows import map_payload
from connector.store.models import DELIVERY_CHANNELS, InboxItem
from connector.store.statuses import InboxStatus

LEASE = timedelta(seconds=60)
STALL_GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
STALL_SCAN = 500
SYNC_CHANNELS = tuple(DELIVERY_CHANNELS.values())  # CRM deliveries: the sync jobs process them


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
        rt.queue.wake("capture.drain")
    return Receipt(inbox_id, item.status, errors)


def _find(rt: Runtime, source: str, key: str) -> Receipt | None:
    with rt.db.session() as s:
        row = s.execute(select(InboxItem.id, InboxItem.status, InboxItem.errors)
                        .where(InboxItem.source == source, InboxItem.idempotency_key == key)).first()
    return Receipt(row.id, row.status, row.errors or [], replayed=True) if row else None


def retake_stalled(rt: Runtime, now: datetime) -> int:
    """Tick step: when received rows wait past STALL_GRACE without a live lease (a lost wake-up, a dead
    worker, a failed attempt due again), wake the drain once — never a job per row; returns how many
    rows (up to STALL_SCAN) were found waiting."""
    with rt.db.session() as s:
        waiting = len(s.scalars(
            select(InboxItem.id).where(
                InboxItem.status == InboxStatus.RECEIVED, InboxItem.channel.not_in(SYNC_CHANNELS),
                or_(InboxItem.lease_until < now,
                    (InboxItem.lease_until.is_(None)) & (InboxItem.received_at < now - STALL_GRACE)))
            .limit(STALL_SCAN)).all())
    if waiting:
        rt.queue.wake("capture.drain")
    return waiting


def inbox_summary(session: Session, inbox_id: int) -> dict[str, Any]:
    """The inbox row's public status (no payload): for GET /api/inbox/<id>."""
    item = session.get(InboxItem, inbox_id)
    if item is None:
        return {}
    return {"id": item.id, "source": item.source, "channel": item.channel, "status": item.status,
            "errors": item.errors or [], "lead_id": item.lead_id, "attempts": item.attempts,
            "received_at": item.received_at.isoformat(),
            "processed_at": item.processed_at.isoformat() if item.processed_at else None}

