"""The engine run against the store: a stored lead's fields as the engine takes them, the rep snapshot,
the decision for a stored lead as it now stands (decide_stored), and a decision put on a lead (restate).

Below both capture/decide.py (new leads) and capture/lifecycle.py (every later touch), which share these.
Nothing here commits, makes offers, writes the timeline or queues CRM writes: those are the callers'.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.runtime import Runtime
from connector.flows import Context, Decision, Spec, decide
from connector.flows.routing import RepBook
from connector.routing import candidates
from connector.store.match_index import SqlMatchIndex
from connector.store.models import Account, Lead
from connector.store.statuses import LeadStatus

STATUS_FOR_OUTCOME = {"routed": LeadStatus.NEW, "nurture": LeadStatus.NURTURE, "rejected": LeadStatus.REJECTED,
                      "duplicate": LeadStatus.DUPLICATE}


def rep_snapshot(session: Session, now: datetime) -> RepBook:
    """The reps the engine may consider for a lead now, indexed (routing narrows them by team, territory
    and product before reading the load figures of the few it ranks)."""
    return candidates.rep_book(session, now)


def decide_stored(session: Session, rt: Runtime, lead: Lead, now: datetime, spec: Spec | None = None) -> Decision:
    """The engine's decision for a stored lead as it now stands, under `spec` (default: the runtime's);
    pure apart from reading the match index and the reps. The lead is not matched against itself."""
    fields = lead.engine_fields()
    ctx = Context(now=now, index=SqlMatchIndex(session), rep_book=rep_snapshot(session, now), lead_id=lead.id)
    return decide(spec or rt.spec, fields, ctx)


def restate(session: Session, lead: Lead, decision: Decision, spec: Spec, now: datetime) -> None:
    """Put a new decision of the engine on a stored lead, in the caller's transaction: outcome, status,
    score, MQL level, flow, team, nurture stream, reject reason, account, and the hash of the flows it was
    made under (`spec`). Offers, the timeline and the CRM write are the caller's."""
    apply_decision(lead, decision)
    lead.decided_with = spec.hash
    lead.account_id = account_id(session, decision, lead.engine_fields(), now) or lead.account_id
    lead.updated_at = now


def apply_decision(lead: Lead, decision: Decision) -> None:
    """The decision's own columns on the lead: flow, outcome, status, score, MQL, breakdown, stream, team."""
    lead.flow = decision.flow
    lead.outcome = decision.outcome
    lead.status = STATUS_FOR_OUTCOME[decision.outcome]
    lead.reject_reason = decision.reject_reason
    lead.nurture_stream = decision.nurture_stream
    lead.team = decision.plan.team if decision.plan else None
    apply_score(lead, decision)


def apply_score(lead: Lead, decision: Decision) -> None:
    """Only the decision's score on the lead: score, MQL level and breakdown (its routing untouched)."""
    lead.score = decision.score
    lead.mql_level = decision.mql_level
    lead.score_breakdown = decision.as_dict().get("breakdown")


def account_id(session: Session, decision: Decision, fields: dict[str, Any], now: datetime) -> int | None:
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
