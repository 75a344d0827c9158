"""CRM write-back: the outbox rows every use case adds, the Leadwire-side values of CRM mapping fields,
and the comparisons sync makes between the two sides."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows.model import CrmMapping, Spec
from connector.store import privacy, timeline
from connector.store.models import Lead, OutboxItem, Rep

# Lead columns a CRM-side edit may change (the rest are Leadwire's own decisions)
EDITABLE = {"email", "first_name", "last_name", "phone", "company", "title", "city", "postal_code", "street",
            "country", "region"}
OWNER_FIELDS = {"owner.hubspot_owner_id": "hubspot_owner_id", "owner.salesforce_user_id": "salesforce_user_id"}
STATUS_FIELDS = ("feedback.pursuit_status", "status")
ID_COLUMN = {"hubspot": "hubspot_id", "salesforce": "salesforce_id"}
OWNER_NAMES = ("owner.hubspot_owner_id", "owner.salesforce_user_id", "owner.email", "owner.name")


def mapping_for(rt: Runtime, lead: Lead, crm: str) -> CrmMapping | None:
    """The flow's write-back mapping (flows.CrmMapping) of this lead for `crm`, or None."""
    if not lead.flow:
        return None
    try:
        flow = rt.spec.flow(lead.flow)
    except NotFound:
        return None
    return getattr(flow.crm, crm, None)


def crm_id(lead: Lead, crm: str) -> str | None:
    return getattr(lead, ID_COLUMN[crm])


def external_id(lead: Lead, crm: str) -> str | None:
    """The upsert key for a record whose CRM id is not known yet: HubSpot e-mail, our lead id in Salesforce."""
    return lead.email if crm == "hubspot" else str(lead.id)


def lead_value(session: Session, lead: Lead, name: str) -> Any:
    """The current Leadwire value of mapping field `name` (feedback.* fields are not derived here: None)."""
    if name == "id":
        return lead.id
    if name.startswith("owner."):
        rep = session.get(Rep, lead.owner_rep_id) if lead.owner_rep_id else None
        return getattr(rep, name.split(".", 1)[1], None) if rep else None
    if name.startswith("attributes."):
        return (lead.attributes or {}).get(name.split(".", 1)[1])
    if name.startswith("feedback."):
        return None
    return getattr(lead, name, None)


def wire(value: Any) -> Any:
    """A JSON-safe value for the outbox (dates as ISO text)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as a CRM would store them: HubSpot keeps strings, "" means empty, 42 == "42.0", true == "true"."""
    return _norm(a) == _norm(b)


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(wire(value)).strip()
    try:
        number = float(text)
        return str(int(number)) if number.is_integer() else repr(number)
    except ValueError:
        return text.lower() if text.lower() in ("true", "false") else text


def enqueue_lead_write(session: Session, rt: Runtime, lead: Lead, fields: dict[str, Any] | None = None, *,
                       reason: str | None = None,
                       crms: tuple[str, ...] = ("hubspot", "salesforce")) -> list[OutboxItem]:
    """Queue the CRM write-back of a lead in the caller's transaction; returns the outbox rows added.

    `fields` are Leadwire mapping names with values (e.g. {"feedback.pursuit_status": "quote_sent"}); only
    mapped fields are written. reason="owner" writes the owner fields. With neither, or when the CRM
    record does not exist yet, every mapped field is written (a create needs them).
    """
    session.flush()
    if privacy.withheld(session, rt.spec, lead, "crm", rt.clock.now()):  # opted out (flows.yaml consent:)
        return []
    given = dict(fields or {})
    rows: list[OutboxItem] = []
    for crm in crms:
        mapping = mapping_for(rt, lead, crm)
        if mapping is None:
            continue
        full = (not given and reason is None) or not crm_id(lead, crm)
        values: dict[str, Any] = {}
        for f in mapping.fields:
            if f.field in given:
                values[f.target] = wire(given[f.field])
            elif full or (reason == "owner" and f.field in OWNER_NAMES):
                value = lead_value(session, lead, f.field)
                if value is not None:
                    values[f.target] = wire(value)
        if not values:
            continue
        if not crm_id(lead, crm) and not external_id(lead, crm):
            timeline.record(session, lead.id, "crm.skipped", f"Not written to {crm}: the lead has no e-mail to "
                            "match a contact by", at=rt.clock.now())
            continue
        now = rt.clock.now()
        row = OutboxItem(crm=crm, object=mapping.object, lead_id=lead.id, record_id=crm_id(lead, crm),
                         fields=values, next_attempt_at=now, created_at=now)
        session.add(row)
        rows.append(row)
    return rows


OUTCOME_FIELDS = ("score", "mql_level", "status", "outcome", "nurture_stream", "team")


def write_outcome(session: Session, rt: Runtime, lead: Lead, spec: Spec | None = None) -> None:
    """Queue the CRM write of the lead's decision (and owner), unless its flow says crm: {outcomes: false}."""
    if lead.flow:
        try:
            if not (spec or rt.spec).flow(lead.flow).crm.outcomes:
                return
        except NotFound:
            pass
    values = {name: getattr(lead, name) for name in OUTCOME_FIELDS}
    values["status"] = str(lead.status)
    enqueue_lead_write(session, rt, lead, values, reason="owner")
