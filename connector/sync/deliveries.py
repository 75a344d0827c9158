"""CRM deliveries through the inbox: HubSpot webhook batches and Salesforce outbound messages.

`receive` runs in the web request: the raw delivery is committed as one inbox row (channel
"hubspot-delivery" / "salesforce-delivery") together with the ids of its new events (SeenEvent), so a
redelivery adds nothing; then job "sync.deliveries" is queued and the sender is answered. No CRM call
happens before that answer.
`take` runs as that job (and from the tick, `retake_due`): it leases every due row of the CRM, reads the
records all of them name in one batch read per batch limit, and applies them (sync/inbound, sync/events).
A CRM API failure puts the rows back with the outbox's backoff (core/backoff.CRM_WRITES): nothing is lost,
and they are taken again once the API answers.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from connector.core.backoff import CRM_WRITES
from connector.core.errors import CrmError
from connector.core.runtime import Runtime
from connector.crm.base import RecordChange, parse_time
from connector.store.models import DELIVERY_CHANNELS, InboxItem, SeenEvent
from connector.store.statuses import InboxStatus
from connector.sync import events, inbound

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
STALL_GRACE = timedelta(seconds=30)
MAX_ROWS = 100           # deliveries taken in one round (at most 100 events each)
MAX_HUBSPOT_EVENTS = 100  # HubSpot sends at most 100 events per request
MAX_FAILURES = 10        # rows whose processing itself fails (not the CRM) this often are set aside as failed
SEEN_KIND = {"hubspot": "hubspot", "salesforce": "sf-outbound"}


class BadDelivery(ValueError):
    """A delivery that cannot be taken; the message says what is wrong."""


@runtime_checkable
class OutboundReader(Protocol):
    """An adapter that reads an outbound message's sObject fields as a RecordChange (Salesforce's)."""

    def record_change(self, fields: dict[str, Any]) -> RecordChange: ...


@dataclass(frozen=True)
class Delivery:
    """What the sender is told: the inbox row (None when every event was seen before) and the counts."""

    inbox_id: int | None
    events: int
    duplicates: int

    def as_dict(self) -> dict[str, Any]:
        return {"inbox_id": self.inbox_id, "events": self.events, "duplicates": self.duplicates}


def hubspot_key(event: dict[str, Any]) -> str:
    """An event's idempotency key: HubSpot says eventId alone "is not guaranteed to be unique"
    (https://developers.hubspot.com/docs/api/webhooks), so with the object and the time it occurred."""
    return f"{event['eventId']}:{event.get('objectId', '')}:{event.get('occurredAt', '')}"[:128]


def hubspot_items(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """(key, event) pairs of a webhook body; BadDelivery when it is not HubSpot's shape."""
    if not isinstance(body, list) or not all(isinstance(e, dict) and "eventId" in e for e in body):
        raise BadDelivery("a HubSpot webhook body is a JSON array of events, each with an eventId")
    if len(body) > MAX_HUBSPOT_EVENTS:
        raise BadDelivery(f"{len(body)} events in one request; HubSpot sends at most {MAX_HUBSPOT_EVENTS}")
    return [(hubspot_key(e), e) for e in body]


def receive(rt: Runtime, crm: str, raw: bytes, items: list[tuple[str, Any]], *,
            content_type: str = "application/json") -> Delivery:
    """Commit the delivery's new items (by key) as one inbox row, then queue "sync.deliveries"."""
    kind, now = SEEN_KIND[crm], rt.clock.now()
    unique = list(dict(items).items())
    for _ in range(3):  # a concurrent delivery of the same events may commit first: look again
        with rt.db.session() as s:
            seen = set(s.scalars(select(SeenEvent.event_id).where(
                SeenEvent.kind == kind, SeenEvent.event_id.in_([k for k, _ in unique]))))
        new = [(k, item) for k, item in unique if k not in seen]
        if not new:
            return Delivery(None, len(items), len(items))
        digest = hashlib.sha256("\n".join(sorted(k for k, _ in new)).encode()).hexdigest()
        channel = DELIVERY_CHANNELS[crm]
        row = InboxItem(source=channel, channel=channel, idempotency_key=f"sha256:{digest}",
                        payload=raw.decode("utf-8", "replace"), content_type=content_type,
                        record={"items": [item for _, item in new]}, received_at=now, status=InboxStatus.RECEIVED)
        try:
            with rt.db.session() as s:
                s.add(row)
                s.add_all(SeenEvent(kind=kind, event_id=k, at=now) for k, _ in new)
                s.flush()
                inbox_id = row.id
        except IntegrityError:
            continue
        _wake(rt, crm, inbox_id)
        return Delivery(inbox_id, len(items), len(items) - len(new))
    raise BadDelivery("the delivery's events are being committed by another request; send it again")


def _wake(rt: Runtime, crm: str, inbox_id: int) -> None:
    """Queue the job; the row is committed, so a queue failure only delays it (retake_due finds it)."""
    try:
        rt.queue.enqueue("sync.deliveries", crm)
    except Exception as exc:  # the queue (Redis) is down: the tick queues the row within STALL_GRACE
        log.warning("delivery %s committed, queueing failed (%s); the tick takes it", inbox_id, type(exc).__name__)


# -- taking deliveries ------------------------------------------------------------------------------

def _due(crm: str, now: datetime) -> Any:
    return (InboxItem.channel == DELIVERY_CHANNELS[crm], InboxItem.status == InboxStatus.RECEIVED,
            or_(InboxItem.lease_until.is_(None), InboxItem.lease_until <= now))


def _claim(rt: Runtime, crm: str, now: datetime) -> dict[int, list[Any]]:
    """Lease up to MAX_ROWS due deliveries of `crm`: inbox id -> its items."""
    with rt.db.session() as s:
        query = select(InboxItem).where(*_due(crm, now)).order_by(InboxItem.id).limit(MAX_ROWS)
        if rt.db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed: dict[int, list[Any]] = {}
        for row in s.scalars(query):
            row.lease_until, row.attempts = now + LEASE, row.attempts + 1
            claimed[row.id] = list((row.record or {}).get("items") or [])
        return claimed


def _hold(rt: Runtime, ids: list[int], now: datetime, exc: CrmError) -> None:
    """The CRM did not answer: the rows wait (backoff, or the CRM's Retry-After) and are taken again."""
    with rt.db.session() as s:
        for row in s.scalars(select(InboxItem).where(InboxItem.id.in_(ids))):
            row.lease_until = now + CRM_WRITES.wait(row.attempts, exc.retry_after)
            row.errors = [{"field": "", "problem": f"waiting for the CRM: {exc}"}]


def _done(rt: Runtime, ids: list[int], now: datetime, notes: dict[int, list[dict[str, Any]]]) -> None:
    with rt.db.session() as s:
        for row in s.scalars(select(InboxItem).where(InboxItem.id.in_(ids))):
            row.status, row.processed_at, row.lease_until = InboxStatus.PROCESSED, now, None
            row.errors = notes.get(row.id) or None


def _failed(rt: Runtime, ids: list[int], exc: Exception) -> None:
    """Processing itself failed (not the CRM): the lease brings the rows back; MAX_FAILURES sets them aside."""
    log.warning("deliveries %s: processing failed with %s", ids, type(exc).__name__)
    with rt.db.session() as s:
        for row in s.scalars(select(InboxItem).where(InboxItem.id.in_(ids))):
            if row.attempts >= MAX_FAILURES:
                row.status = InboxStatus.FAILED
                row.errors = [{"field": "", "problem": f"processing failed {row.attempts} times: {type(exc).__name__}"}]


def take(rt: Runtime, crm: str, now: datetime | None = None) -> dict[str, int]:
    """Take every due delivery of `crm`, round by round; returns what was done, added up."""
    now = now or rt.clock.now()
    apply = APPLY[crm]
    totals: dict[str, int] = {}
    while claimed := _claim(rt, crm, now):
        ids = list(claimed)
        try:
            counts, notes = apply(rt, claimed, now)
        except CrmError as exc:
            log.warning("deliveries %s wait for %s: %s", ids, crm, type(exc).__name__)
            _hold(rt, ids, now, exc)
            totals["held"] = totals.get("held", 0) + len(ids)
            break
        except Exception as exc:
            _failed(rt, ids, exc)
            raise
        _done(rt, ids, now, notes)
        for key, n in {"deliveries": len(ids), **counts}.items():
            totals[key] = totals.get(key, 0) + n
    return totals


def take_task(rt: Runtime, crm: str) -> None:
    """Task "sync.deliveries": take the CRM's due deliveries (CRM trouble stays on the rows, never raised)."""
    log.info("deliveries %s: %s", crm, take(rt, crm))


def retake_due(rt: Runtime, now: datetime) -> int:
    """Tick step: queue "sync.deliveries" for each CRM with deliveries whose job was lost, whose worker
    died, or whose backoff after a CRM failure is over; returns how many rows are due."""
    due = 0
    for crm in DELIVERY_CHANNELS:
        with rt.db.session() as s:
            n = s.scalar(select(func.count()).select_from(InboxItem).where(
                InboxItem.channel == DELIVERY_CHANNELS[crm], InboxItem.status == InboxStatus.RECEIVED,
                or_(InboxItem.lease_until <= now,
                    InboxItem.lease_until.is_(None) & (InboxItem.received_at < now - STALL_GRACE)))) or 0
        if n:
            rt.queue.enqueue("sync.deliveries", crm)
            due += n
    return due


# -- what a delivery does ---------------------------------------------------------------------------

Notes = dict[int, list[dict[str, Any]]]


def _apply_hubspot(rt: Runtime, claimed: dict[int, list[Any]], now: datetime) -> tuple[dict[str, int], Notes]:
    """Events of every claimed delivery: one batch read of the contacts to read (the only API call, made
    before anything is applied), then merges, changes and captures, deletions, associations, erasures."""
    origin = {hubspot_key(e): inbox_id for inbox_id, items in claimed.items() for e in items}
    todo = events.plan([e for items in claimed.values() for e in items])
    contacts = inbound.reader(rt, "hubspot").read(list(todo.reads)) if todo.reads else {}
    counts = {"events": len(origin), "updated": 0, "captured": 0, "echo": 0, "merged": 0, "deleted": 0,
              "erased": 0, "associations": 0, "unknown": len(todo.unknown)}
    with rt.db.session() as s:
        for event in todo.merges:
            counts["merged"] += events.apply_merge(s, rt, event, now) != "no lead"
    records = [(RecordChange(cid, props, parse_time(props.get("lastmodifieddate"))), todo.reads[cid])
               for cid, props in contacts.items()]
    for key, n in inbound.take_records(rt, "hubspot", records).items():
        counts[key] += n
    with rt.db.session() as s:
        for event in todo.deletions:
            counts["deleted"] += events.record_on_lead(s, event, now)
        for event in todo.associations:
            counts["associations"] += events.record_on_lead(s, event, now)
        for contact in todo.erase:
            counts["erased"] += events.erase(s, rt, "hubspot", contact, now)
    notes: Notes = {}
    for event in (e for items in claimed.values() for e in items):
        if events.action(event) == events.UNKNOWN or events.contact_of(event) is None:
            notes.setdefault(origin[hubspot_key(event)], []).append(
                {"field": "subscriptionType", "problem": f"{event.get('subscriptionType', '?')}: not a contact "
                 "event Leadwire takes; kept here, not applied"})
    if todo.unknown:
        log.warning("hubspot deliveries: %d events of types Leadwire does not take (%s), kept in the inbox",
                    len(todo.unknown), ", ".join(sorted(set(todo.unknown))))
    return counts, notes


def _apply_salesforce(rt: Runtime, claimed: dict[int, list[Any]], now: datetime) -> tuple[dict[str, int], Notes]:
    """Notifications of every claimed delivery: the Leads read again with every mapped field (one query per
    200; a Lead that cannot be read is taken as its notification says), then applied or captured."""
    notes = [(str(nid), dict(fields)) for items in claimed.values() for nid, fields in items]
    crm_adapter = inbound.reader(rt, "salesforce")
    if not isinstance(crm_adapter, OutboundReader):
        raise TypeError(f"the salesforce adapter {type(crm_adapter).__name__} cannot read outbound messages")
    current = crm_adapter.read(list(dict.fromkeys(f["Id"] for _, f in notes)))
    latest = {f["Id"]: (nid, current.get(f["Id"]) or f) for nid, f in notes}  # one change per Lead
    records = [(crm_adapter.record_change(fields), {"notification": nid, **fields})
               for nid, fields in latest.values()]
    counts = {"events": len(notes)}
    counts.update(inbound.take_records(rt, "salesforce", records))
    return counts, {}


APPLY: dict[str, Callable[[Runtime, dict[int, list[Any]], datetime], tuple[dict[str, int], Notes]]] = {
    "hubspot": _apply_hubspot,
    "salesforce": _apply_salesforce,
}
