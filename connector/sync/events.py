"""Inbound CRM events: HubSpot webhook batches, Salesforce outbound messages and the change poller."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from defusedxml import ElementTree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connector.core.runtime import Runtime
from connector.crm.base import RecordChange, parse_time
from connector.store.models import SeenEvent, SyncCursor
from connector.sync import drain
from connector.sync.inbound import take_records

log = logging.getLogger(__name__)
OUTBOUND_NS = "{http://soap.sforce.com/2005/09/outbound}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
MAX_NOTIFICATIONS = 100
MAX_HUBSPOT_EVENTS = 100


class BadMessage(ValueError):
    """An inbound message that cannot be read; the message says what is wrong."""


@runtime_checkable
class OutboundReader(Protocol):
    """An adapter that reads an outbound message's sObject fields as a RecordChange (Salesforce's)."""

    def record_change(self, fields: dict[str, Any]) -> RecordChange: ...


def _unseen(rt: Runtime, kind: str, ids: list[str]) -> set[str]:
    with rt.db.session() as s:
        seen = set(s.scalars(select(SeenEvent.event_id).where(SeenEvent.kind == kind, SeenEvent.event_id.in_(ids))))
    return set(ids) - seen


def _mark_seen(rt: Runtime, kind: str, ids: list[str]) -> None:
    """Remember event ids; a concurrent delivery that got there first is fine."""
    now = rt.clock.now()
    try:
        with rt.db.session() as s:
            s.add_all(SeenEvent(kind=kind, event_id=i, at=now) for i in ids)
    except IntegrityError:
        for i in ids:
            try:
                with rt.db.session() as s:
                    s.add(SeenEvent(kind=kind, event_id=i, at=now))
            except IntegrityError:
                pass


def take_hubspot_events(rt: Runtime, events: list[dict[str, Any]]) -> dict[str, int]:
    """A webhook batch: new contact events (by eventId) become one batch read, then updates or captures."""
    if not isinstance(events, list) or not all(isinstance(e, dict) and "eventId" in e for e in events):
        raise BadMessage("a HubSpot webhook body is a JSON array of events, each with an eventId")
    if len(events) > MAX_HUBSPOT_EVENTS:
        raise BadMessage(f"{len(events)} events in one request; HubSpot sends at most {MAX_HUBSPOT_EVENTS}")
    fresh = _unseen(rt, "hubspot", [str(e["eventId"]) for e in events])
    new = [e for e in events if str(e["eventId"]) in fresh]
    counts = {"events": len(events), "duplicates": len(events) - len(new), "updated": 0, "captured": 0, "echo": 0}
    contact_events = {str(e["objectId"]): e for e in new if str(e.get("subscriptionType", "")).startswith("contact.")
                      and "objectId" in e}
    if contact_events:
        contacts = drain.adapter(rt, "hubspot").read(list(contact_events))
        records = [(RecordChange(cid, props, parse_time(props.get("lastmodifieddate"))), contact_events[cid])
                   for cid, props in contacts.items()]
        for key, n in take_records(rt, "hubspot", records).items():
            counts[key] += n
    _mark_seen(rt, "hubspot", sorted(fresh))
    return counts


def parse_outbound(raw: bytes) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """(OrganizationId, [(Notification Id, sObject fields)]) from an outbound message (defusedxml)."""
    try:
        root = ElementTree.fromstring(raw)
    except Exception as exc:  # defusedxml raises its own errors for entities and DTDs
        raise BadMessage(f"not a readable SOAP message: {type(exc).__name__}") from None
    body = root.find(f".//{OUTBOUND_NS}notifications")
    if body is None:
        raise BadMessage("no <notifications> element in the outbound message")
    org = (body.findtext(f"{OUTBOUND_NS}OrganizationId") or "").strip()
    notes = body.findall(f"{OUTBOUND_NS}Notification")
    if len(notes) > MAX_NOTIFICATIONS:
        raise BadMessage(f"{len(notes)} notifications; Salesforce sends at most {MAX_NOTIFICATIONS}")
    out: list[tuple[str, dict[str, Any]]] = []
    for note in notes:
        nid = (note.findtext(f"{OUTBOUND_NS}Id") or "").strip()
        sobject = note.find(f"{OUTBOUND_NS}sObject")
        if not nid or sobject is None:
            raise BadMessage("a Notification without Id or sObject")
        fields = {child.tag.rsplit("}", 1)[-1]: (None if child.get(XSI_NIL) == "true" else (child.text or ""))
                  for child in sobject}
        if not fields.get("Id"):
            raise BadMessage(f"notification {nid}: the sObject has no Id")
        out.append((nid, fields))
    return org, out


def take_outbound(rt: Runtime, notifications: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """Outbound-message notifications, deduplicated by Notification Id, applied or captured."""
    fresh = _unseen(rt, "sf-outbound", [nid for nid, _ in notifications])
    crm_adapter = drain.adapter(rt, "salesforce")
    if not isinstance(crm_adapter, OutboundReader):
        raise TypeError(f"the salesforce adapter {type(crm_adapter).__name__} cannot read outbound messages")
    records = [(crm_adapter.record_change(f), {"notification": nid, **f}) for nid, f in notifications if nid in fresh]
    counts = {"events": len(notifications), "duplicates": len(notifications) - len(records)}
    counts.update(take_records(rt, "salesforce", records))
    _mark_seen(rt, "sf-outbound", sorted(fresh))
    return counts


def poll(rt: Runtime, crm: str, now: datetime) -> int:
    """Read changes since the stored watermark (paged), apply them, then move the watermark."""
    name = f"{crm}.changes"
    with rt.db.session() as s:
        cursor = s.get(SyncCursor, name)
        since = cursor.value if cursor else None
    changes, newest = drain.adapter(rt, crm).changes_since(since)
    take_records(rt, crm, [(c, {"Id": c.record_id}) for c in changes])
    with rt.db.session() as s:
        cursor = s.get(SyncCursor, name) or SyncCursor(name=name)
        cursor.value, cursor.updated_at = newest, now
        s.add(cursor)
    return len(changes)


def poll_due(rt: Runtime, now: datetime) -> int:
    """Tick step: poll Salesforce when SALESFORCE_POLL is on and SALESFORCE_POLL_SECONDS (60) have passed."""
    env = rt.settings.env
    if str(env.get("SALESFORCE_POLL", "")).lower() not in ("1", "true", "yes"):
        return 0
    every = timedelta(seconds=int(env.get("SALESFORCE_POLL_SECONDS", "60")))
    with rt.db.session() as s:
        cursor = s.get(SyncCursor, "salesforce.changes")
        last = cursor.updated_at if cursor else None
    if last is not None and now - last < every:
        return 0
    return poll(rt, "salesforce", now)
