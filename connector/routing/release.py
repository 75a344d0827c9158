"""Routing a stored lead again: held leads whose hold has ended (tick step `offers.release_held`), and
siblings re-routed when their account is won (connector.routing.siblings).

`reroute` asks the engine again — under the current flows, reps and account state — for the lead's
routing plan, and starts the offers from it (which may hold the lead again, e.g. when the rep's hours
changed meanwhile, or escalate). A held lead is planned as of its hold_until, the moment its offers were
due, so that a tick running late (after the rep's day ended again) offers it rather than holding it for
another day; the offers themselves are made, and expire, on the time now. Only the routing facts of the
decision are applied: flow, team and the flows hash it was made under; a flow that no longer routes the
lead escalates it, so that a person decides (RevOps' "decide again" action restates a whole decision).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.clock import as_utc
from connector.core.runtime import Runtime
from connector.flows import Context, Decision, decide
from connector.routing import candidates, offers
from connector.store import timeline
from connector.store.match_index import SqlMatchIndex
from connector.store.models import Lead, Offer
from connector.store.statuses import LeadStatus

BATCH = 200        # held leads taken per query
MAX_BATCHES = 10   # per tick: a Monday 09:00 backlog is worked off over a few ticks, never in one long one


def redecide(session: Session, rt: Runtime, lead: Lead, at: datetime) -> Decision:
    """The engine's decision for the stored lead as of `at` (it is never matched against itself)."""
    fields = lead.engine_fields()
    ctx = Context(now=at, index=SqlMatchIndex(session), rep_book=candidates.rep_book(session, at), lead_id=lead.id)
    return decide(rt.spec, fields, ctx)


def reroute(session: Session, rt: Runtime, lead: Lead, now: datetime, why: str, *,
            as_of: datetime | None = None) -> list[Offer]:
    """Plan the (locked) lead's routing again as of `as_of` (default now) and start its offers now; `why`
    heads the timeline entry."""
    decision = redecide(session, rt, lead, min(as_of or now, now))
    timeline.record(session, lead.id, "decision", f"{why}: routed again, {decision.outcome} by flow "
                                                  f"{decision.flow or '(none)'}", decision.as_dict(), at=now)
    if decision.outcome != "routed" or decision.plan is None:
        offers.escalate(session, rt, lead, now, f"under the current flows the lead is {decision.outcome}, "
                                                "not routed; decide it by hand")
        return []
    lead.flow, lead.team, lead.decided_with, lead.updated_at = decision.flow, decision.team, rt.spec.hash, now
    return offers.start(session, rt, lead, decision, now)


def release_held(rt: Runtime, now: datetime) -> int:
    """Tick step `offers.release_held`: offer every held lead whose hold_until has come (an index range on
    leads.hold_until, in batches); returns how many were released. Each lead is released in its own
    transaction with the lead locked, and only if it is still held and due: safe to run twice."""
    done = 0
    for _ in range(MAX_BATCHES):
        with rt.db.session() as s:
            due = list(s.scalars(select(Lead.id).where(Lead.hold_until <= now, Lead.status == LeadStatus.HELD)
                                 .order_by(Lead.hold_until, Lead.id).limit(BATCH)))
        for lead_id in due:
            with rt.db.session() as s:
                lead = offers.lock_lead(s, lead_id)
                until = as_utc(lead.hold_until)
                if lead.status != LeadStatus.HELD or until is None or until > now:
                    continue
                lead.hold_until = None
                reroute(s, rt, lead, now, f"Hold ended ({until:%Y-%m-%d %H:%M} UTC)", as_of=until)
                done += 1
        if len(due) < BATCH:
            break
    return done
