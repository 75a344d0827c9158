"""Changes from the CRMs: echo suppression, per-field conflict rules, owner/status updates, new records.

A CRM record that matches a lead is compared field by field through the flow's mapping:
  - unchanged since Leadwire last read the record (leads.crm_seen), or equal to what Leadwire last
    wrote (or to Leadwire's value): an echo or no change, ignored;
  - otherwise the field's rule decides: crm_wins applies it, leadwire_wins writes ours back,
    newest_wins compares the CRM's modification time with the lead's.
Applied owner changes set the lead's owner (by the rep's CRM owner id); status changes go to
answers.from_crm (feedback where the flow maps the status). An applied change of a field the scoring
model or a flow condition reads (flows/inputs.py) decides the lead again (capture/lifecycle.redecide).
An owner field of a flow with `crm: {system_of_record: {owner: CRM}}` ignores its conflict rule: a change
from that CRM is applied and copied to the other CRM; one from the other CRM is written back over (owners.py).
Every decision lands on the timeline.
A record no lead matches is captured as a new lead through the inbox (inbox.accept). Records are read with
every property the CRM source's mapping reads (reader), so that a captured lead is decided on all of it.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.capture import inbox, lifecycle
from connector.core.clock import as_utc
from connector.core.runtime import Runtime
from connector.crm.base import CrmAdapter, RecordChange
from connector.flows.inputs import decision_fields
from connector.pursuit import answers
from connector.store import timeline, writeback
from connector.store.models import Lead, OutboxItem, Rep
from connector.store.statuses import OutboxStatus
from connector.store.writeback import (
    EDITABLE,
    ID_COLUMN,
    OWNER_FIELDS,
    STATUS_FIELDS,
    lead_value,
    mapping_for,
    same,
    wire,
)
from connector.sync import drain, owners

log = logging.getLogger(__name__)


def last_written(session: Session, crm: str, lead_id: int) -> dict[str, Any]:
    """CRM field -> the value Leadwire last wrote there (from sent outbox rows)."""
    written: dict[str, Any] = {}
    for fields in session.scalars(select(OutboxItem.fields).where(
            OutboxItem.crm == crm, OutboxItem.lead_id == lead_id, OutboxItem.status == OutboxStatus.SENT)
            .order_by(OutboxItem.id)):
        written.update(fields)
    return written


def find_lead(session: Session, crm: str, record_id: str) -> Lead | None:
    return session.scalars(select(Lead).where(getattr(Lead, ID_COLUMN[crm]) == str(record_id))
                           .order_by(Lead.id).limit(1)).first()


def _apply(session: Session, rt: Runtime, crm: str, lead: Lead, name: str, value: Any, now: datetime) -> str:
    """Take one CRM value into Leadwire; returns what happened, for the timeline."""
    if name in OWNER_FIELDS:
        rep = session.scalars(select(Rep).where(getattr(Rep, OWNER_FIELDS[name]) == str(value))).first()
        if rep is None:
            return f"owner {value!r} is no known rep; owner left unchanged"
        lead.owner_rep_id = rep.id
        return f"owner is now {rep.name}"
    if name in STATUS_FIELDS:
        answers.from_crm(session, rt, lead, str(value or ""), now)
        return f"status {value!r} taken as feedback"
    if name in EDITABLE:
        setattr(lead, name, value or None)
        return f"{name} set"
    return f"{name} is Leadwire's own; not taken from the CRM"


def apply_record(session: Session, rt: Runtime, crm: str, lead: Lead, change: RecordChange,
                 now: datetime) -> dict[str, list[str]]:
    """Compare a CRM record with its lead and act per field; returns field names by outcome."""
    outcome: dict[str, list[str]] = {"echo": [], "applied": [], "kept": []}
    mapping = mapping_for(rt, lead, crm)
    if mapping is None:
        return outcome
    fields, modified_at = change.fields, change.modified_at
    if change.by_leadwire:  # last changed by our own integration user: all of it is our echo
        outcome["echo"] = [f.target for f in mapping.fields if f.target in fields]
        lead.crm_seen = {**(lead.crm_seen or {}), crm: {t: wire(fields[t]) for t in outcome["echo"]}}
        return outcome
    written = last_written(session, crm, lead.id)
    seen = (lead.crm_seen or {}).get(crm)
    write_back: dict[str, Any] = {}
    for f in mapping.fields:
        if f.target not in fields:
            continue
        theirs = fields[f.target]
        if seen is not None and f.target in seen and same(theirs, seen[f.target]):
            continue  # unchanged since we last read this record
        ours = lead_value(session, lead, f.field) if not f.field.startswith("feedback.") else written.get(f.target)
        if (f.target in written and same(theirs, written[f.target])) or same(theirs, ours):
            outcome["echo"].append(f.target)
            continue
        if seen is None and f.target not in written:
            continue  # first read of the record: a field we never wrote is taken as the CRM's baseline
        theirs_at, ours_at = as_utc(modified_at), as_utc(lead.updated_at)
        crm_newer = theirs_at is not None and ours_at is not None and theirs_at > ours_at
        of_record = owners.system_of_record(rt, lead) if f.field in OWNER_FIELDS else None
        rule = f.conflict if of_record is None else ("crm_wins" if of_record == crm else "leadwire_wins")
        why = rule if of_record is None else f"{of_record} is the owner's system of record"
        take = rule == "crm_wins" or (rule == "newest_wins" and crm_newer)
        data = {"crm": crm, "field": f.field, "crm_field": f.target, "crm_value": theirs, "leadwire_value": ours,
                "rule": rule, "system_of_record": of_record}
        if take:
            owner_before = lead.owner_rep_id
            what = _apply(session, rt, crm, lead, f.field, theirs, now)
            if of_record == crm and lead.owner_rep_id != owner_before:
                copied = owners.copy_owner(session, rt, lead, crm)
                what += f"; written to {', '.join(copied)}" if copied else ""
            outcome["applied"].append(f.target)
            timeline.record(session, lead.id, "crm.change", f"{crm} changed {f.target}: {what} ({why})", data, at=now)
        else:
            outcome["kept"].append(f.target)
            if ours is not None:
                write_back[f.field] = ours
            timeline.record(session, lead.id, "crm.conflict",
                            f"{crm} changed {f.target}; Leadwire's value kept ({why}) and written back",
                            data, at=now)
    lead.crm_seen = {**(lead.crm_seen or {}),
                     crm: {f.target: wire(fields[f.target]) for f in mapping.fields if f.target in fields}}
    if outcome["applied"]:
        lead.updated_at = now
    if write_back:
        writeback.enqueue_lead_write(session, rt, lead, write_back, crms=(crm,))
    decisive = decision_fields(rt.spec)
    touched = [f.field for f in mapping.fields if f.target in outcome["applied"] and f.field in decisive]
    if touched:  # a field the scoring model or a flow condition reads: the lead is decided again
        lifecycle.redecide(session, rt, lead, now, cause=f"{crm} change of {', '.join(touched)}", by=crm)
    return outcome


def source_for(rt: Runtime, crm: str) -> str | None:
    """The flows.yaml source new records from this CRM are captured under (the first of its kind)."""
    return next((name for name, spec in rt.spec.sources.items() if spec.kind == crm), None)


def source_inputs(rt: Runtime, crm: str) -> list[str]:
    """The CRM properties / fields the CRM source's mapping reads (HubSpot: `properties.NAME` → NAME)."""
    source = source_for(rt, crm)
    if source is None:
        return []
    mapping = rt.spec.sources[source].mapping
    paths = [p for rule in mapping.fields for p in (*rule.sources, *rule.concat)] + [s.source for s in mapping.splits]
    if crm == "hubspot":
        return list(dict.fromkeys(p.split(".", 1)[1] for p in paths if p.startswith("properties.")))
    return list(dict.fromkeys(p for p in paths if "." not in p))


def reader(rt: Runtime, crm: str) -> CrmAdapter:
    """The runtime's adapter for `crm`, reading the write-back fields and everything the source mapping reads."""
    crm_adapter = drain.adapter(rt, crm)
    crm_adapter.track(source_inputs(rt, crm))
    return crm_adapter


def capture_new(rt: Runtime, crm: str, record_id: str, record: dict[str, Any], payload: dict[str, Any]) -> bool:
    """A record no lead matches: capture it (idempotent per CRM record). False when no source takes it."""
    source = source_for(rt, crm)
    if source is None:
        log.warning("%s record ignored: flows.yaml has no source of kind %s", crm, crm)
        return False
    raw = json.dumps(payload, default=str).encode()
    if crm == "hubspot":  # the source mapping reads the v3 object shape: {id, properties}
        record = {"id": record_id, "properties": record}
    inbox.accept(rt, source=source, channel=crm, raw=raw, payload=payload,
                   idempotency_key=f"{crm}-record:{record_id}", record=record)
    return True


def take_records(rt: Runtime, crm: str, records: list[tuple[RecordChange, dict[str, Any]]]) -> dict[str, int]:
    """Apply (change, payload) pairs: known leads updated, other records captured as new leads."""
    counts = {"updated": 0, "captured": 0, "echo": 0}
    now = rt.clock.now()
    with rt.db.session() as s:
        unknown: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for change, payload in records:
            lead = find_lead(s, crm, change.record_id)
            if lead is None:
                unknown.append((change.record_id, change.fields, payload))
                continue
            result = apply_record(s, rt, crm, lead, change, now)
            counts["updated"] += bool(result["applied"] or result["kept"])
            counts["echo"] += bool(result["echo"]) and not (result["applied"] or result["kept"])
    for record_id, fields, payload in unknown:
        counts["captured"] += capture_new(rt, crm, record_id, fields, payload)
    return counts
