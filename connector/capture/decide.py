"""Apply the engine's decision for a mapped lead to the store, in the caller's transaction.

A new lead is stored with its decision (and its first offer when routed); a repeat touch of a stored
lead (duplicate action merge) is merged into it per the flow's merge rules (flows/merge.py) and the lead
is decided again (capture/lifecycle.redecide). The engine-against-the-store helpers live in stored.py.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connector.capture import lifecycle
from connector.capture.stored import account_id, apply_decision, rep_snapshot
from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import Context, Decision, DuplicateMatch, decide
from connector.flows import merge as merging
from connector.flows.model import DuplicateSpec
from connector.routing import offers
from connector.store import timeline, writeback
from connector.store.match_index import SqlMatchIndex
from connector.store.models import Lead

LEAD_FIELDS = {c.name for c in Lead.__table__.columns} - {
    "id", "inbox_id", "source", "flow", "outcome", "status", "score", "mql_level", "score_breakdown",
    "nurture_stream", "reject_reason", "team", "duplicate_of_id", "account_id", "owner_rep_id",
    "captured_at", "first_offered_at", "accepted_at", "closed_at", "won_amount", "updated_at", "rescore_at",
    "hold_until", "linked_to_id", "decided_with", "crm_seen", "offer_plan"}

CRM_AT_CAPTURE = ("nurture", "rejected")  # routed leads reach the CRMs when accepted (the owner write)


def decide_and_store(session: Session, rt: Runtime, fields: dict[str, Any], *, source: str, inbox_id: int | None,
                     now: datetime) -> Lead:
    """Run the engine on `fields` and store the outcome; returns the lead the inbox row now points to.

    Events without a time happened now. A nurtured or rejected new lead is written to the CRMs (unless
    its flow says crm: {outcomes: false}); rescore_at is set when its event points decay."""
    fields = _stamped(fields, now)
    ctx = Context(now=now, index=SqlMatchIndex(session), rep_book=rep_snapshot(session, now))
    decision = decide(rt.spec, {**fields, "source": source}, ctx)
    dup = decision.duplicate
    if dup is not None and dup.action == "merge":
        return _merge_into(session, rt, dup, fields, decision, source=source, inbox_id=inbox_id, now=now)

    lead = Lead(**{k: v for k, v in fields.items() if k in LEAD_FIELDS}, source=source, inbox_id=inbox_id,
                captured_at=now, updated_at=now)
    apply_decision(lead, decision)
    lead.decided_with = rt.spec.hash
    lead.account_id = account_id(session, decision, fields, now)
    lead.rescore_at = lifecycle.rescore_time(rt.spec, lead, now)
    if dup is not None:
        lead.duplicate_of_id = dup.lead_id
    session.add(lead)
    session.flush()
    timeline.record(session, lead.id, "captured", f"Captured from {source}", {"inbox_id": inbox_id}, at=now)
    timeline.record(session, lead.id, "decision", headline(decision), decision.as_dict(), at=now)
    if decision.outcome == "routed":
        offers.start(session, rt, lead, decision, now)
    elif decision.outcome in CRM_AT_CAPTURE:
        writeback.write_outcome(session, rt, lead)
    return lead


def _stamped(fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`fields` with attributes.events given a time where they came without one (now)."""
    attributes = fields.get("attributes")
    if not isinstance(attributes, dict) or not isinstance(attributes.get("events"), list):
        return fields
    events, _ = merging.merge_events([], attributes["events"], now)
    return {**fields, "attributes": {**attributes, "events": events}}


def _merge_into(session: Session, rt: Runtime, dup: DuplicateMatch, fields: dict[str, Any], decision: Decision, *,
                source: str, inbox_id: int | None, now: datetime) -> Lead:
    """A repeat touch: merged into the (locked) stored lead per the flow's merge rules — an owned lead's
    identity fields only proposed, events appended —, recorded on the timeline, and the lead decided again."""
    try:
        lead = offers.lock_lead(session, dup.lead_id)
    except NotFound:  # the match index found it in this transaction; only a concurrent delete gets here
        raise NotFound(f"no lead {dup.lead_id} to merge into") from None
    rules = rt.spec.flow(decision.flow).duplicates if decision.flow else DuplicateSpec()
    incoming = {k: v for k, v in fields.items() if k in LEAD_FIELDS}
    stored = {k: getattr(lead, k) for k in incoming}
    merged = merging.merge(stored, incoming, rules, owned=lead.owner_rep_id is not None, now=now)
    for key, value in merged.changes.items():
        setattr(lead, key, value)
    lead.updated_at = now
    proposed = f"; proposed {', '.join(sorted(merged.proposed))} (kept: a rep owns the lead)" \
        if merged.proposed else ""
    timeline.record(session, lead.id, "duplicate",
                    f"Matched again by {dup.rule} (similarity {dup.similarity:.0f}); merged "
                    f"{', '.join(merged.changed) or 'nothing new'}{proposed}",
                    {"inbox_id": inbox_id, "rule": dup.rule, "changed": list(merged.changed),
                     "proposed": merged.proposed, "events_added": list(merged.events_added),
                     "reasons": decision.reasons}, at=now)
    lifecycle.redecide(session, rt, lead, now, cause=_cause(merged, source), by=source)
    return lead


def _cause(merged: merging.Merged, source: str) -> str:
    """What the touch was, for the timeline and the owner: the new form, the new events, or the source."""
    form = merged.changes.get("attributes", {}).get("form") if "attributes.form" in merged.changed else None
    if form:
        return str(form)
    if merged.events_added:
        return ", ".join(dict.fromkeys(str(e["type"]) for e in merged.events_added))
    return f"repeat submission from {source}"


def headline(decision: Decision) -> str:
    """One line for the timeline: "routed, by flow qualified, score 62, MQL 2"."""
    parts = [decision.outcome]
    if decision.flow:
        parts.append(f"by flow {decision.flow}")
    if decision.score is not None:
        parts.append(f"score {decision.score}")
    if decision.mql_level:
        parts.append(f"MQL {decision.mql_level}")
    return ", ".join(parts)
