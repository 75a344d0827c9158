"""RevOps' manual actions on a stored lead: assign it to a rep, offer it again, decide it again, reopen it.

Each action runs in the caller's transaction with the lead row locked, records a timeline entry naming
who asked for it (`by`), and queues the CRM write of the lead's decision and owner (store.writeback,
through store/writeback.write_outcome or, for an assign, the owner write of an accept). A request the
lead cannot take raises InvalidAction whose message says what to do instead (with `field` set when a
value of the request is wrong); an unknown lead or rep raises NotFound.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.capture import lifecycle
from connector.capture.decide import headline
from connector.capture.stored import decide_stored, restate
from connector.core.errors import InvalidAction, NotFound
from connector.core.runtime import Runtime
from connector.pursuit import schedule
from connector.routing import offers
from connector.store import timeline, writeback
from connector.store.models import Lead, Rep
from connector.store.statuses import LeadStatus, OfferStatus

CLOSED = (LeadStatus.WON, LeadStatus.LOST, LeadStatus.CLOSED)  # a person must reopen these first
ROUTED = (LeadStatus.NEW, LeadStatus.OFFERED, LeadStatus.ESCALATED, LeadStatus.HELD)  # waiting for an owner
REOPEN_TO = ("nurture", "routing")
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing (and must not reach the database)
MAX_BY = 64


@dataclass(frozen=True)
class Done:
    """What a manual action did: the lead, its status now, the offers it made, and one sentence."""

    action: str
    lead_id: int
    status: str
    message: str
    offers: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "lead_id": self.lead_id, "status": str(self.status),
                "message": self.message, "offers": list(self.offers)}


def rep_by_email(session: Session, email: str) -> Rep:
    """The rep with this e-mail address (any case), or NotFound."""
    rep = session.scalar(select(Rep).where(func.lower(Rep.email) == email.strip().lower()))
    if rep is None:
        raise NotFound(f"no rep with e-mail {email.strip()!r}")
    return rep


def assign(session: Session, rt: Runtime, lead_id: int, rep_id: int, *, by: str, now: datetime) -> Done:
    """Make the rep the lead's owner as an accept would: pending offers withdrawn, status accepted, the
    owner written to the CRM, the feedback cadence started (a previous owner's requests cancelled).

    Refused for a won/lost/closed lead, an inactive rep, the rep who already owns it, and a lead no flow
    takes (it has no feedback cadence)."""
    by = who(by)
    lead = _open_lead(session, lead_id)
    rep = session.get(Rep, rep_id) if 0 < rep_id <= MAX_ID else None
    if rep is None:
        raise NotFound(f"no rep {rep_id}")
    if not rep.active:
        raise InvalidAction(f"rep {rep.id} ({rep.name}) is inactive: activate them or assign another rep")
    if lead.status == LeadStatus.ACCEPTED and lead.owner_rep_id == rep.id:
        raise InvalidAction(f"lead {lead.id} is already accepted by {rep.name}")
    if not lead.flow:
        raise InvalidAction(f"lead {lead.id} matches no flow, so it has no feedback cadence: reroute it first")
    previous = session.get(Rep, lead.owner_rep_id) if lead.owner_rep_id else None
    withdrawn = offers.close_pending(session, lead.id, now, OfferStatus.WITHDRAWN)
    was = f" (was {previous.name}'s)" if previous else ""
    timeline.record(session, lead.id, "assigned", f"Assigned to {rep.name} by {by}{was}",
                    {"by": by, "rep_id": rep.id, "previous_owner_id": previous.id if previous else None,
                     "status_was": lead.status, "withdrawn_offers": withdrawn}, at=now)
    offers.hand_over(session, rt, lead, rep, now)
    return Done("assign", lead.id, lead.status, f"lead {lead.id} assigned to {rep.name}{was}")


def reoffer(session: Session, rt: Runtime, lead_id: int, *, by: str, now: datetime) -> Done:
    """Start the lead's stored offer plan again: pending offers withdrawn, fresh offers from its first
    candidate (each checked for eligibility now), escalation when nobody is eligible.

    Only for a routed lead waiting for an owner (new, offered, escalated or held)."""
    by = who(by)
    lead = _open_lead(session, lead_id)
    if lead.status not in ROUTED:
        raise InvalidAction(f"lead {lead.id} is {lead.status}, not waiting for an owner: "
                            + ("assign it to another rep instead" if lead.status == LeadStatus.ACCEPTED
                               else "reroute it or assign it to a rep"))
    if not (lead.offer_plan or {}).get("candidates"):
        raise InvalidAction(f"lead {lead.id} has no offer plan with candidates: reroute it or assign it to a rep")
    withdrawn = offers.close_pending(session, lead.id, now, OfferStatus.WITHDRAWN)
    timeline.record(session, lead.id, "reoffered", f"Offer plan started again by {by}",
                    {"by": by, "withdrawn_offers": withdrawn}, at=now)
    made = offers.restart(session, rt, lead, now)
    writeback.write_outcome(session, rt, lead)
    return Done("reoffer", lead.id, lead.status, _offered(lead, made), tuple(o.id for o in made))


def reroute(session: Session, rt: Runtime, lead_id: int, *, by: str, now: datetime) -> Done:
    """Decide the lead again under the current flows (capture.decide.decide_stored) and act as for a new
    lead: a routed lead gets a fresh offer plan and its first offers; nurture or rejected is stored.

    Refused for an accepted lead (assign it instead) and a won/lost/closed one (reopen it)."""
    by = who(by)
    lead = _open_lead(session, lead_id)
    if lead.status == LeadStatus.ACCEPTED:
        raise InvalidAction(f"lead {lead.id} is accepted by {_owner(session, lead)}: assign it to another rep "
                            "instead")
    return _decide_again(session, rt, lead, by, now, action="reroute")


def reopen(session: Session, rt: Runtime, lead_id: int, *, to: str, stream: str | None = None, by: str,
           now: datetime) -> Done:
    """Un-convert a won, lost or closed lead: back into a nurture stream (`stream`, default the flow's
    lost_to_nurture or flows.yaml's default stream), or into routing (decided again as by `reroute`).
    The close date and won amount are cleared; the timeline keeps them."""
    by = who(by)
    if to not in REOPEN_TO:
        raise InvalidAction(f"cannot reopen to {to!r}: use nurture or routing", field="to")
    if stream is not None and to != "nurture":
        raise InvalidAction("a stream is only for reopening to nurture", field="stream")
    lead = _lock(session, lead_id)
    if lead.status not in CLOSED:
        hint = "assign, reoffer or reroute it instead" if lead.status != LeadStatus.NURTURE else "reroute it instead"
        raise InvalidAction(f"lead {lead.id} is {lead.status}, not won, lost or closed: {hint}")
    name = _stream(rt, lead, stream) if to == "nurture" else None
    was = {"by": by, "to": to, "status_was": lead.status, "closed_at": _iso(lead.closed_at),
           "won_amount": lead.won_amount}
    lead.closed_at, lead.won_amount = None, None
    if name is None:
        timeline.record(session, lead.id, "reopened", f"Reopened by {by}: {was['status_was']} lead back into "
                        "routing", was, at=now)
        return _decide_again(session, rt, lead, by, now, action="reopen")
    lead.status, lead.outcome, lead.nurture_stream, lead.updated_at = LeadStatus.NURTURE, "nurture", name, now
    lead.rescore_at = lifecycle.rescore_time(rt.spec, lead, now)
    timeline.record(session, lead.id, "reopened", f"Reopened by {by}: {was['status_was']} lead back in nurture "
                    f"stream {name!r}; its history is kept", {**was, "stream": name}, at=now)
    schedule.cancel_scheduled(session, lead, "lead was reopened into nurture", now)
    writeback.write_outcome(session, rt, lead)
    return Done("reopen", lead.id, lead.status, f"lead {lead.id} reopened into nurture stream {name!r}")


# ---- shared steps --------------------------------------------------------------------------------

def who(by: str | None) -> str:
    """The name recorded for `by`: whitespace collapsed, at most MAX_BY characters ("unknown" if empty)."""
    return " ".join((by or "").split())[:MAX_BY] or "unknown"


def _lock(session: Session, lead_id: int) -> Lead:
    """The lead, locked for the transaction (NotFound)."""
    if not 0 < lead_id <= MAX_ID:
        raise NotFound(f"no lead {lead_id}")
    return offers.lock_lead(session, lead_id)


def _open_lead(session: Session, lead_id: int) -> Lead:
    """The lead, locked; InvalidAction when it is won, lost or closed."""
    lead = _lock(session, lead_id)
    if lead.status in CLOSED:
        raise InvalidAction(f"lead {lead.id} is {lead.status}: reopen it first")
    return lead


def _decide_again(session: Session, rt: Runtime, lead: Lead, by: str, now: datetime, *, action: str) -> Done:
    before = {k: getattr(lead, k) for k in ("status", "outcome", "flow", "team", "score", "mql_level")}
    decision = decide_stored(session, rt, lead, now)
    withdrawn = offers.close_pending(session, lead.id, now, OfferStatus.WITHDRAWN)
    restate(session, lead, decision, rt.spec, now)
    lead.hold_until, lead.rescore_at = None, lifecycle.rescore_time(rt.spec, lead, now)
    if decision.outcome == "routed":
        lead.owner_rep_id = None  # nobody owns it until someone accepts one of the new offers
    timeline.record(session, lead.id, "rerouted", f"Rerouted by {by}: {headline(decision)}",
                    {**decision.as_dict(), "by": by, "before": before, "flows_hash": rt.spec.hash,
                     "withdrawn_offers": withdrawn}, at=now)
    made = offers.start(session, rt, lead, decision, now) if decision.outcome == "routed" else []
    writeback.write_outcome(session, rt, lead)
    message = _offered(lead, made) if decision.outcome == "routed" else f"lead {lead.id}: {headline(decision)}"
    return Done(action, lead.id, lead.status, message, tuple(o.id for o in made))


def _stream(rt: Runtime, lead: Lead, stream: str | None) -> str:
    if stream is None:
        try:
            stream = rt.spec.flow(lead.flow).feedback.lost_to_nurture if lead.flow else None
        except NotFound:  # the flow is gone from flows.yaml
            stream = None
        stream = stream or rt.spec.default_stream
    if stream not in rt.spec.nurture_streams:
        raise InvalidAction(f"no nurture stream {stream!r} in flows.yaml; use one of "
                            f"{', '.join(rt.spec.nurture_streams)}", field="stream")
    return stream


def _owner(session: Session, lead: Lead) -> str:
    rep = session.get(Rep, lead.owner_rep_id) if lead.owner_rep_id else None
    return rep.name if rep else "nobody"


def _offered(lead: Lead, made: list) -> str:
    if made:
        return f"lead {lead.id} offered to {len(made)} rep{'s' if len(made) != 1 else ''}"
    return f"lead {lead.id} is {lead.status}: no rep could be offered it now (its timeline says why)"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
