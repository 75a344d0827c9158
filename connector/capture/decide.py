"""Apply the engine's decision for a mapped lead to the store, in the caller's transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import Context, Decision, DuplicateMatch, RepView, Spec, decide
from connector.flows.model import LEAD_FIELDS as CANONICAL
from connector.routing import candidates, offers
from connector.store import timeline
from connector.store.match_index import SqlMatchIndex
from connector.store.models import Account, Lead
from connector.store.statuses import LeadStatus

LEAD_FIELDS = {c.name for c in Lead.__table__.columns} - {
    "id", "inbox_id", "source", "flow", "outcome", "status", "score", "mql_level", "score_breakdown",
    "nurture_stream", "reject_reason", "team", "duplicate_of_id", "account_id", "owner_rep_id",
    "captured_at", "first_offered_at", "accepted_at", "closed_at", "won_amount", "updated_at", "rescore_at",
    "hold_until", "linked_to_id", "decided_with", "crm_seen", "offer_plan"}

STATUS_FOR_OUTCOME = {"routed": LeadStatus.NEW, "nurture": LeadStatus.NURTURE, "rejected": LeadStatus.REJECTED,
                      "duplicate": LeadStatus.DUPLICATE}


def rep_snapshot(session: Session, fields: dict[str, Any], now: datetime) -> list[RepView]:
    """The reps the engine may consider for this lead (the routing module narrows and scores them)."""
    return candidates.rep_views(session, fields, now)


def decide_and_store(session: Session, rt: Runtime, fields: dict[str, Any], *, source: str, inbox_id: int | None,
                     now: datetime) -> Lead:
    """Run the engine on `fields` and store the outcome; returns the lead the inbox row now points to."""
    ctx = Context(now=now, index=SqlMatchIndex(session), reps=rep_snapshot(session, fields, now))
    decision = decide(rt.spec, {**fields, "source": source}, ctx)
    dup = decision.duplicate
    if dup is not None and dup.action == "merge":
        return _merge_into(session, dup, fields, decision, inbox_id, now)

    lead = Lead(**{k: v for k, v in fields.items() if k in LEAD_FIELDS}, source=source, inbox_id=inbox_id,
                captured_at=now, updated_at=now)
    _apply(lead, decision)
    lead.decided_with = rt.spec.hash
    lead.account_id = _account_id(session, decision, fields, now)
    if dup is not None:
        lead.duplicate_of_id = dup.lead_id
    session.add(lead)
    session.flush()
    timeline.record(session, lead.id, "captured", f"Captured from {source}", {"inbox_id": inbox_id}, at=now)
    timeline.record(session, lead.id, "decision", _headline(decision), decision.as_dict(), at=now)
    if decision.outcome == "routed":
        offers.start(session, rt, lead, decision, now)
    return lead


def stored_fields(lead: Lead) -> dict[str, Any]:
    """A stored lead's canonical fields (and source), as the engine takes a mapped payload."""
    fields = {name: getattr(lead, name) for name in CANONICAL}
    fields["attributes"] = dict(lead.attributes or {})
    fields["source"] = lead.source
    return fields


def decide_stored(session: Session, rt: Runtime, lead: Lead, now: datetime, spec: Spec | None = None) -> Decision:
    """The engine's decision for a stored lead as it now stands, under `spec` (default: the runtime's);
    pure apart from reading the match index and the reps. The lead is not matched against itself."""
    fields = stored_fields(lead)
    ctx = Context(now=now, index=SqlMatchIndex(session), reps=rep_snapshot(session, fields, now), lead_id=lead.id)
    return decide(spec or rt.spec, fields, ctx)


def _apply(lead: Lead, decision: Decision) -> None:
    lead.flow = decision.flow
    lead.outcome = decision.outcome
    lead.status = STATUS_FOR_OUTCOME[decision.outcome]
    lead.score = decision.score
    lead.mql_level = decision.mql_level
    lead.score_breakdown = decision.as_dict().get("breakdown")
    lead.nurture_stream = decision.nurture_stream
    lead.reject_reason = decision.reject_reason
    lead.team = decision.plan.team if decision.plan else None


def _account_id(session: Session, decision: Decision, fields: dict[str, Any], now: datetime) -> int | None:
    """The lead's account by company domain, created on first sight (free-mail domains have none)."""
    if decision.account is None:
        return None
    if decision.account.account_id:
        return decision.account.account_id
    domain = decision.account.domain
    found = session.scalar(select(Account.id).where(Account.domain == domain))
    if found:
        return found
    account = Account(domain=domain, name=fields.get("company"), created_at=now)
    session.add(account)
    session.flush()
    return account.id


def _merge_into(session: Session, dup: DuplicateMatch, fields: dict[str, Any], decision: Decision,
                inbox_id: int | None, now: datetime) -> Lead:
    """A repeat touch: newer non-empty values win on the existing lead, and the touch is recorded."""
    lead = session.get(Lead, dup.lead_id)
    if lead is None:  # the match index found it in this transaction; only a concurrent delete gets here
        raise NotFound(f"no lead {dup.lead_id} to merge into")
    changed: list[str] = []
    for key, value in fields.items():
        if key not in LEAD_FIELDS or value in (None, "", [], {}):
            continue
        if key == "attributes":
            merged = {**(lead.attributes or {}), **value}
            if merged != lead.attributes:
                lead.attributes = merged
                changed.append(key)
        elif getattr(lead, key) != value:
            setattr(lead, key, value)
            changed.append(key)
    lead.updated_at = now
    timeline.record(session, lead.id, "duplicate",
                    f"Matched again by {dup.rule} (similarity {dup.similarity:.0f}); merged "
                    f"{', '.join(sorted(changed)) or 'nothing new'}",
                    {"inbox_id": inbox_id, "rule": dup.rule, "changed": sorted(changed),
                     "reasons": decision.reasons}, at=now)
    return lead


def _headline(decision: Decision) -> str:
    parts = [decision.outcome]
    if decision.flow:
        parts.append(f"by flow {decision.flow}")
    if decision.score is not None:
        parts.append(f"score {decision.score}")
    if decision.mql_level:
        parts.append(f"MQL {decision.mql_level}")
    return ", ".join(parts)
