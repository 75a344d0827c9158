"""Inbound CRM events: what each HubSpot event means for a lead, Salesforce outbound messages read
strictly (Lead sObjects only), and the change pollers under the webhooks.

HubSpot events (legacy `contact.*` and new-style `object.*` with objectTypeId 0-1, the same meaning):
  creation, propertyChange, restore   the contact is read (batched) and taken as a change or a new lead
  merge                               the lead re-linked to the surviving contact; two leads merged into one
  deletion                            recorded on the lead's timeline (the lead stays)
  privacyDeletion                     the person erased (store/privacy.erase_person)
  associationChange                   recorded on the lead's timeline
  anything else                       kept in its inbox row and counted as unknown, never applied
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from defusedxml import ElementTree
from sqlalchemy.orm import Session

from connector.capture import lifecycle
from connector.core.errors import ConfigError, CrmError
from connector.core.runtime import Runtime
from connector.flows import merge as merging
from connector.flows.inputs import decision_fields
from connector.flows.model import DuplicateSpec
from connector.routing import offers
from connector.store import privacy, timeline
from connector.store.models import Lead, SyncCursor
from connector.store.statuses import LeadStatus, OfferStatus
from connector.sync import inbound

log = logging.getLogger(__name__)
OUTBOUND_NS = "{http://soap.sforce.com/2005/09/outbound}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
MAX_NOTIFICATIONS = 100
CONTACT_TYPE = "0-1"  # HubSpot's objectTypeId of contacts in object.* events

# https://developers.hubspot.com/docs/api/webhooks (subscription types) and
# https://developers.hubspot.com/docs/apps/legacy-apps/public-apps/create-generic-webhook-subscriptions
# (object.* events carry objectTypeId; privacy deletions: contact.privacyDeletion, see
# https://developers.hubspot.com/changelog/now-live-webhooks-now-support-privacy-compliant-contact-deletions)
READ, MERGE, DELETION, PRIVACY, ASSOCIATION, UNKNOWN = ("read", "merge", "deletion", "privacy", "association",
                                                         "unknown")
ACTIONS = {"creation": READ, "propertyChange": READ, "restore": READ, "merge": MERGE, "deletion": DELETION,
           "privacyDeletion": PRIVACY, "deletedForPrivacy": PRIVACY, "associationChange": ASSOCIATION}


class BadMessage(ValueError):
    """An inbound message that cannot be read; the message says what is wrong."""


class NotALead(BadMessage):
    """An outbound message about an sObject other than Lead: refused, never taken as a Lead."""


# -- HubSpot events ------------------------------------------------------------------------------

def action(event: dict[str, Any]) -> str:
    """What a HubSpot event asks of Leadwire: READ, MERGE, DELETION, PRIVACY, ASSOCIATION or UNKNOWN."""
    kind = str(event.get("subscriptionType", ""))
    family, _, verb = kind.partition(".")
    if family == "object" and str(event.get("objectTypeId", "")) != CONTACT_TYPE and verb != "associationChange":
        return UNKNOWN  # a company, deal, ... event: not a contact
    if family not in ("contact", "object"):
        return UNKNOWN
    return ACTIONS.get(verb, UNKNOWN)


def contact_of(event: dict[str, Any]) -> str | None:
    """The contact an event is about (for an association change: its contact end), or None."""
    if action(event) != ASSOCIATION:
        return str(event["objectId"]) if "objectId" in event else None
    kind = str(event.get("associationType", ""))
    if str(event.get("fromObjectTypeId", "")) == CONTACT_TYPE or kind.startswith("CONTACT_TO_"):
        return str(event.get("fromObjectId", "")) or None
    if str(event.get("toObjectTypeId", "")) == CONTACT_TYPE or kind.endswith("_TO_CONTACT"):
        return str(event.get("toObjectId", "")) or None
    return str(event["objectId"]) if event.get("subscriptionType", "").startswith("contact.") else None


def survivor_of(event: dict[str, Any]) -> str:
    """A merge's surviving contact: newObjectId (HubSpot may create one), else primaryObjectId."""
    return str(event.get("newObjectId") or event.get("primaryObjectId") or event.get("objectId"))


def merged_ids(event: dict[str, Any]) -> list[str]:
    """Every contact id a merge event names, the primary first."""
    ids = [event.get("primaryObjectId"), *(event.get("mergedObjectIds") or []), event.get("objectId"),
           event.get("newObjectId")]
    return list(dict.fromkeys(str(i) for i in ids if i not in (None, "")))


@dataclass
class Plan:
    """A set of HubSpot events sorted by meaning: the contacts to read and what to do without the API."""

    reads: dict[str, dict[str, Any]] = field(default_factory=dict)  # contact id -> its latest event
    merges: list[dict[str, Any]] = field(default_factory=list)
    deletions: list[dict[str, Any]] = field(default_factory=list)
    erase: dict[str, dict[str, Any]] = field(default_factory=dict)  # contact id -> its privacy event
    associations: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # subscription types kept, not applied


def plan(events: list[dict[str, Any]]) -> Plan:
    """Sort events (oldest first) into a Plan; deleted and erased contacts are not read."""
    out = Plan()
    for event in sorted(events, key=lambda e: int(e.get("occurredAt") or 0)):
        what, contact = action(event), contact_of(event)
        if what == UNKNOWN or contact is None:
            out.unknown.append(str(event.get("subscriptionType", "?")))
        elif what == READ:
            out.reads[contact] = event
        elif what == MERGE:
            out.merges.append(event)
            out.reads[survivor_of(event)] = event  # the merge moved properties onto the survivor
        elif what == DELETION:
            out.deletions.append(event)
        elif what == PRIVACY:
            out.erase[contact] = event
        else:
            out.associations.append(event)
    gone = set(out.erase) | {str(e["objectId"]) for e in out.deletions}
    out.reads = {cid: e for cid, e in out.reads.items() if cid not in gone}
    return out


def apply_merge(session: Session, rt: Runtime, event: dict[str, Any], now: datetime) -> str:
    """Re-link the lead of a merged contact to the survivor; two or more leads are merged into the one of
    the primary contact (flows/merge.py rules, the others marked duplicates of it). Returns what was done."""
    ids, survivor = merged_ids(event), survivor_of(event)
    leads = [lead for cid in ids if (lead := inbound.find_lead(session, "hubspot", cid)) is not None]
    leads = list({lead.id: lead for lead in leads}.values())
    if not leads:
        return "no lead"
    keep, others = leads[0], leads[1:]
    data = {"crm": "hubspot", "contacts": ids, "survivor": survivor}
    for other in others:
        _merge_lead(session, rt, keep, other, survivor, now)
    old, keep.hubspot_id = keep.hubspot_id, survivor
    keep.updated_at = now
    timeline.record(session, keep.id, "crm.merged", f"HubSpot merged contacts {', '.join(ids)}: now contact "
                    f"{survivor}" + (f" (was {old})" if old != survivor else "")
                    + (f"; leads {', '.join(str(o.id) for o in others)} merged into this one" if others else ""),
                    data, at=now)
    return "merged" if others else "relinked"


def _merge_lead(session: Session, rt: Runtime, keep: Lead, other: Lead, survivor: str, now: datetime) -> None:
    """`other` merged into `keep` field by field (the flow's merge rules); `other` becomes its duplicate."""
    rules = rt.spec.flow(keep.flow).duplicates if keep.flow else DuplicateSpec()
    incoming = {k: v for k, v in other.engine_fields().items() if k not in ("source", "hubspot_id")}
    stored = {k: getattr(keep, k) for k in incoming}
    merged = merging.merge(stored, incoming, rules, owned=keep.owner_rep_id is not None, now=now)
    for key, value in merged.changes.items():
        setattr(keep, key, value)
    offers.close_pending(session, other.id, now, OfferStatus.WITHDRAWN)
    other.duplicate_of_id, other.status, other.hubspot_id, other.updated_at = keep.id, LeadStatus.DUPLICATE, None, now
    timeline.record(session, other.id, "crm.merged", f"HubSpot merged this contact into contact {survivor}: "
                    f"merged into lead {keep.id}", {"crm": "hubspot", "into": keep.id}, at=now)
    decisive = decision_fields(rt.spec)
    if any(name in decisive for name in merged.changed):
        lifecycle.redecide(session, rt, keep, now, cause="HubSpot merge", by="hubspot")


def record_on_lead(session: Session, event: dict[str, Any], now: datetime) -> bool:
    """A deletion or association change on the lead's timeline; False when no lead has the contact."""
    contact = contact_of(event)
    lead = inbound.find_lead(session, "hubspot", contact) if contact else None
    if lead is None:
        return False
    if action(event) == DELETION:
        timeline.record(session, lead.id, "crm.deleted", f"HubSpot contact {contact} was deleted (the lead is kept)",
                        {"crm": "hubspot", "contact": contact, "event": event.get("subscriptionType")}, at=now)
        return True
    removed = bool(event.get("associationRemoved"))
    kind = event.get("associationType") or event.get("associationTypeId") or "association"
    other = event.get("toObjectId") if str(event.get("fromObjectId")) == contact else event.get("fromObjectId")
    timeline.record(session, lead.id, "crm.association",
                    f"HubSpot {'removed' if removed else 'added'} {kind} with object {other}",
                    {"crm": "hubspot", "contact": contact, "association": kind, "other": other, "removed": removed},
                    at=now)
    return True


def erase(session: Session, rt: Runtime, crm: str, record_id: str, now: datetime) -> int:
    """A CRM privacy deletion: the person of the record's lead erased (every lead with that e-mail, by
    store/privacy.erase_person); returns the leads erased."""
    lead = inbound.find_lead(session, crm, record_id)
    if lead is None or not lead.email or "@" not in lead.email:
        return 0
    counts = privacy.erase_person(session, lead.email, now, key=rt.settings.secret_key, by=f"{crm} privacy deletion")
    return counts.get("leads", 0)


# -- Salesforce outbound messages --------------------------------------------------------------

def parse_outbound(raw: bytes) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """(OrganizationId, [(Notification Id, sObject fields)]) from an outbound message (defusedxml).

    Every sObject must be a Lead (xsi:type="sf:Lead"): another type raises NotALead naming it."""
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
        kind = (sobject.get(f"{XSI}type") or "").rpartition(":")[2]
        if kind != "Lead":
            raise NotALead(f"notification {nid} is about a{'n' if kind[:1] in 'AEIOU' else ''} "
                           f"{kind or 'untyped sObject'}, not a Lead: this endpoint takes Lead outbound messages "
                           "only; point the outbound message of that object elsewhere or remove it")
        fields = {child.tag.rsplit("}", 1)[-1]: (None if child.get(f"{XSI}nil") == "true" else (child.text or ""))
                  for child in sobject}
        if not fields.get("Id"):
            raise BadMessage(f"notification {nid}: the sObject has no Id")
        out.append((nid, fields))
    return org, out


# -- pollers -------------------------------------------------------------------------------------

def first_cursor(crm: str, since: datetime) -> str:
    """The watermark a first poll starts from: epoch milliseconds for HubSpot's search filter
    (https://developers.hubspot.com/docs/api/crm/search: dates in filters as Unix ms), a SOQL dateTime
    literal YYYY-MM-DDThh:mm:ssZ for Salesforce (SOQL "Date Formats and Date Literals")."""
    since = since.astimezone(UTC)
    if crm == "hubspot":
        return str(int(since.timestamp() * 1000))
    return since.strftime("%Y-%m-%dT%H:%M:%SZ")


def poll_start(rt: Runtime, crm: str, now: datetime) -> datetime:
    """Where a CRM's first poll starts: {CRM}_POLL_SINCE (an ISO date or time, UTC unless it says), else now."""
    name = f"{crm.upper()}_POLL_SINCE"
    text = str(rt.settings.env.get(name, "") or "").strip()
    if not text:
        return now
    try:
        since = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not an ISO date or time (e.g. 2026-01-05 or "
                          "2026-01-05T09:00:00Z)") from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def poll(rt: Runtime, crm: str, now: datetime) -> int:
    """Read changes since the stored watermark (paged), apply them, then move the watermark. The first
    poll starts from now (or {CRM}_POLL_SINCE), never from the beginning of the CRM."""
    name = f"{crm}.changes"
    with rt.db.session() as s:
        cursor = s.get(SyncCursor, name)
        since = cursor.value if cursor and cursor.value else first_cursor(crm, poll_start(rt, crm, now))
    changes, newest = inbound.reader(rt, crm).changes_since(since)
    inbound.take_records(rt, crm, [(c, {"Id": c.record_id}) for c in changes])
    with rt.db.session() as s:
        cursor = s.get(SyncCursor, name) or SyncCursor(name=name)
        cursor.value, cursor.updated_at = newest or since, now
        s.add(cursor)
    return len(changes)


def _poll_due(rt: Runtime, crm: str, now: datetime) -> int:
    """Poll `crm` when {CRM}_POLL is on and {CRM}_POLL_SECONDS (60) have passed since its last poll."""
    env, prefix = rt.settings.env, crm.upper()
    if str(env.get(f"{prefix}_POLL", "")).lower() not in ("1", "true", "yes"):
        return 0
    try:
        every = timedelta(seconds=int(env.get(f"{prefix}_POLL_SECONDS", "60")))
    except ValueError:
        raise ConfigError(f"{prefix}_POLL_SECONDS must be a whole number of seconds") from None
    with rt.db.session() as s:
        cursor = s.get(SyncCursor, f"{crm}.changes")
        last = cursor.updated_at if cursor else None
    if last is not None and now - last < every:
        return 0
    try:
        return poll(rt, crm, now)
    except CrmError as exc:  # the CRM is down or refuses us: the watermark stays, the next tick tries again
        log.warning("poll %s failed (%s); retried next tick", crm, type(exc).__name__)
        return 0


def poll_hubspot_due(rt: Runtime, now: datetime) -> int:
    """Tick step: poll HubSpot when HUBSPOT_POLL is on (every HUBSPOT_POLL_SECONDS, default 60)."""
    return _poll_due(rt, "hubspot", now)


def poll_salesforce_due(rt: Runtime, now: datetime) -> int:
    """Tick step: poll Salesforce when SALESFORCE_POLL is on (every SALESFORCE_POLL_SECONDS, default 60)."""
    return _poll_due(rt, "salesforce", now)
