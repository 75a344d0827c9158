"""Holding a routed lead while nobody eligible is working (the flow's offer.outside_hours: hold).

The engine planned the hold (flows.after_hours: `RoutingPlan.hold_until`, the earliest next working start
of an eligible rep, in that rep's time zone); `hold` stores it in the caller's transaction: status held,
`leads.hold_until` (an indexed timer) and a timeline entry saying until when and why. The tick step
`offers.release_held` (connector.routing.release) offers the lead once hold_until has come. This module
writes no offers, so that connector.routing.offers may call it without a cycle.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from connector.flows import RoutingPlan
from connector.store import timeline
from connector.store.models import Lead
from connector.store.statuses import LeadStatus


def should_hold(plan: RoutingPlan | None) -> bool:
    """True when the plan keeps nobody and holds the lead instead."""
    return plan is not None and plan.hold_until is not None and not plan.kept


def hold(session: Session, lead: Lead, plan: RoutingPlan, now: datetime) -> None:
    """Status held until plan.hold_until (UTC), explained on the timeline ("held until 2026-01-06 09:00
    Europe/Berlin (Jo Rep's day starts)"); the caller checked `should_hold`."""
    lead.status, lead.hold_until, lead.updated_at = LeadStatus.HELD, plan.hold_until, now
    until = plan.hold_until.isoformat() if plan.hold_until else None
    waiting = sorted({c.rep_id for c in plan.candidates if "outside working hours" in c.reason})
    note = plan.hold_note or f"held until {until}"
    timeline.record(session, lead.id, "held", f"{note[0].upper()}{note[1:]}: nobody eligible is working now; "
                                              "the offers start then",
                    {"hold_until": until, "reps_outside_hours": waiting}, at=now)
