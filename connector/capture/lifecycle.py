"""The lead lifecycle: every touch decides a stored lead again, and decaying event points do so in time.

`redecide` locks the lead row, runs the engine on the lead as it now stands (event points decayed as of
`now`, the lead never its own duplicate) and applies the difference, in the caller's transaction:

    promoted    nurture, rejected, or new without offers, and now routed: decided and offered exactly as
                a new lead would be (routing/offers.start)
    owner_told  a rep owns it (accepted): never re-routed; its score is updated and the owner is e-mailed
                about the touch (template lead_touch) and told on the timeline
    demoted     its MQL level fell (decay, negative events): recorded and written back; a routed or owned
                lead keeps its routing, a nurtured one keeps nurturing below MQL 1 — never un-routed silently
    rescored    the score changed (or, for a lead not routed, its nurture stream or rejection); a lead being
                offered, escalated, held, owned or closed keeps its state
    unchanged   nothing to record
Always: decided_with (the flows hash), rescore_at (flows/decay.py) and updated_at. Every transition but
unchanged queues the CRM write of the decision's fields (score, MQL level, status, outcome, stream, team,
owner) unless the lead's flow says `crm: {outcomes: false}`. DECAY and REPLAY are no touch: an owner
is not e-mailed about them (QUIET).

`rescore_due` (tick step "capture.rescore_due") re-decides leads whose rescore_at has come, in bounded
batches, each in its own short transaction, and is safe to run twice or concurrently.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import notify
from connector.capture.stored import apply_score, decide_stored, restate
from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import Decision, Spec
from connector.flows.decay import next_rescore
from connector.flows.merge import merge_events
from connector.routing import offers
from connector.routing.offer_view import summary
from connector.store import timeline, writeback
from connector.store.models import Lead, Offer, Rep
from connector.store.statuses import LeadStatus

DECAY = "decay"    # the cause the tick gives
REPLAY = "replay"  # the cause of `leadwire replay` (a new flows.yaml)
QUIET = (DECAY, REPLAY)  # re-decisions that are no touch of the lead: its owner is not e-mailed
BATCH = 500      # leads per rescore_due run
TERMINAL = (LeadStatus.WON, LeadStatus.LOST, LeadStatus.CLOSED)  # no rescoring in time
UNROUTED = (LeadStatus.NURTURE, LeadStatus.REJECTED, LeadStatus.NEW)  # NEW: only while it has no offers


@dataclass(frozen=True)
class State:
    """What a re-decision compares: status, score, MQL level, flow."""

    status: str
    score: int | None
    mql_level: int | None
    flow: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "score": self.score, "mql_level": self.mql_level, "flow": self.flow}


@dataclass(frozen=True)
class Redecision:
    """What `redecide` did to one lead: the transition, the lead before and after, and one line."""

    lead_id: int
    transition: str  # promoted | owner_told | demoted | rescored | unchanged
    before: State
    after: State
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"lead_id": self.lead_id, "transition": self.transition, "before": self.before.as_dict(),
                "after": self.after.as_dict(), "message": self.message}


def _state(lead: Lead) -> State:
    return State(lead.status, lead.score, lead.mql_level, lead.flow)


def _mql(level: int | None) -> str:
    return str(level) if level else "none"


def rescore_time(spec: Spec, lead: Lead, now: datetime) -> datetime | None:
    """When the lead's decaying event points should be scored again (None: never; closed leads never)."""
    if lead.status in TERMINAL:
        return None
    return next_rescore(spec.scorer, lead.attributes, now)


def _unrouted(session: Session, lead: Lead) -> bool:
    """Nurtured, rejected, or new without an owner or any offer: a lead routing has not taken yet."""
    if lead.status not in UNROUTED:
        return False
    if lead.status != LeadStatus.NEW:
        return True
    return lead.owner_rep_id is None and not session.scalar(
        select(func.count()).select_from(Offer).where(Offer.lead_id == lead.id))


def redecide(session: Session, rt: Runtime, lead: Lead, now: datetime, *, cause: str, by: str | None = None,
             spec: Spec | None = None) -> Redecision:
    """Decide the stored lead again after `cause` (a touch, or DECAY) and apply the difference; see the
    module docstring. Locks the lead row first (pending changes of the caller are flushed before)."""
    session.flush()
    lead = offers.lock_lead(session, lead.id)
    spec = spec or rt.spec
    before, stream = _state(lead), lead.nurture_stream
    decision = decide_stored(session, rt, lead, now, spec)
    owner = session.get(Rep, lead.owner_rep_id) if lead.owner_rep_id else None
    owned = owner is not None and lead.status == LeadStatus.ACCEPTED
    unrouted = _unrouted(session, lead)
    promoted = unrouted and decision.outcome == "routed"
    if unrouted:  # nurture and rejected decisions have no side effects: taken as they come
        restate(session, lead, decision, spec, now)
    else:
        apply_score(lead, decision)
    lead.decided_with = spec.hash
    lead.rescore_at = rescore_time(spec, lead, now)
    lead.updated_at = now
    down = (before.mql_level or 0) > (lead.mql_level or 0)
    data = {"cause": cause, "by": by, "before": before.as_dict(), "decision": decision.as_dict()}
    told = owned and owner is not None and cause not in QUIET
    if promoted:
        transition = "promoted"
        message = f"promoted: MQL {_mql(before.mql_level)} → {_mql(lead.mql_level)} after {cause}"
        timeline.record(session, lead.id, "promoted", message, data, at=now)
        offers.start(session, rt, lead, decision, now)
    else:
        transition, message = _record_change(session, lead, before, stream, decision, cause, down, data, now)
    if told and owner is not None:
        transition, message = "owner_told", _tell_owner(session, rt, lead, owner, before, cause, data, now)
    after = _state(lead)
    if transition != "unchanged":
        writeback.write_outcome(session, rt, lead, spec)
    return Redecision(lead.id, transition, before, after, message)


def _record_change(session: Session, lead: Lead, before: State, stream: str | None, decision: Decision, cause: str,
                   down: bool, data: dict[str, Any], now: datetime) -> tuple[str, str]:
    """The timeline entry of a re-decision that did not promote: (transition, message)."""
    kept = f"; still {lead.status} (the engine now says {decision.outcome})" if decision.outcome != lead.outcome else ""
    now_status = f"now {lead.status}" + (f" ({lead.reject_reason})" if lead.reject_reason else "")
    if down:
        moved = f", {now_status}" if before.status != lead.status else ""
        message = f"demoted: MQL {_mql(before.mql_level)} → {_mql(lead.mql_level)} ({cause}){moved}{kept}"
        timeline.record(session, lead.id, "demoted", message, data, at=now)
        return "demoted", message
    changes = [what for what, differs in (
        (f"score {before.score} → {lead.score}", before.score != lead.score),
        (f"MQL {_mql(before.mql_level)} → {_mql(lead.mql_level)}", before.mql_level != lead.mql_level),
        (now_status, before.status != lead.status),
        (f"flow {before.flow} → {lead.flow}", before.flow != lead.flow),
        (f"stream {stream} → {lead.nurture_stream}", stream != lead.nurture_stream)) if differs]
    if changes:
        message = f"rescored: {', '.join(changes)} after {cause}{kept}"
        timeline.record(session, lead.id, "rescored", message, data, at=now)
        return "rescored", message
    return "unchanged", f"unchanged: score {lead.score}, MQL {_mql(lead.mql_level)} after {cause}"


def _tell_owner(session: Session, rt: Runtime, lead: Lead, owner: Rep, before: State, cause: str,
                data: dict[str, Any], now: datetime) -> str:
    """E-mail the owner about the touch and say so on the timeline; returns the timeline message."""
    notify.queue_email(session, rt, kind="lead_touch", to=owner.email, lead_id=lead.id,
                       subject=f"Your lead is back: {summary(lead)} — {cause}", template="lead_touch",
                       context={"rep_name": owner.name, "lead_id": lead.id, "lead_summary": summary(lead),
                                "cause": cause, "score_before": before.score, "score": lead.score,
                                "mql_before": _mql(before.mql_level), "mql": _mql(lead.mql_level),
                                "at": f"{now:%Y-%m-%d %H:%M} UTC"})
    message = f"owner {owner.name} told of {cause}: score {before.score} → {lead.score}"
    timeline.record(session, lead.id, "owner_told", message, {**data, "rep_id": owner.id}, at=now)
    return message


def add_events(session: Session, rt: Runtime, lead_id: int, events: list[dict[str, Any]], now: datetime, *,
               by: str | None = None) -> tuple[Redecision, list[dict[str, Any]]]:
    """Append behavioural events ({type, at, data?}) to a lead and decide it again; returns the re-decision
    and the events added (one equal in type and time to a stored one is not added twice). NotFound."""
    lead = offers.lock_lead(session, lead_id)
    attributes = dict(lead.attributes or {})
    attributes["events"], added = merge_events(attributes.get("events"), events, now)
    types = ", ".join(dict.fromkeys(e["type"] for e in events)) or "events"
    if added:
        lead.attributes = attributes
        timeline.record(session, lead.id, "event", f"{len(added)} event(s) recorded: {types}",
                        {"events": added, "by": by}, at=now)
    return redecide(session, rt, lead, now, cause=types, by=by), added


def rescore_due(rt: Runtime, now: datetime) -> int:
    """Tick step: re-decide up to BATCH leads whose rescore_at has come (oldest first), each in its own
    transaction under the lead lock; a lead another run re-decided meanwhile is skipped. Returns how many."""
    with rt.db.session() as s:
        due = list(s.scalars(select(Lead.id).where(Lead.rescore_at <= now).order_by(Lead.rescore_at).limit(BATCH)))
    done = 0
    for lead_id in due:
        with rt.db.session() as s:
            try:
                lead = offers.lock_lead(s, lead_id)
            except NotFound:
                continue
            if lead.rescore_at is None or lead.rescore_at > now:
                continue
            redecide(s, rt, lead, now, cause=DECAY, by="tick")
            done += 1
    return done
