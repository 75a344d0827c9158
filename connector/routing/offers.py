"""Offers: a routed lead offered exclusively (or broadcast) for a window, then the next rep, then escalation.

Every use case runs in one transaction that first locks the lead row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises writers), so accept, decline and expiry of one lead never interleave.
Exactly one accept wins: a conditional UPDATE (still pending, not expired) plus the unique partial
index uq_offers_one_accept. Timers are offers.expires_at, scanned by `expire_step` (a tick step).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector import notify
from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.core.tokens import Tokens
from connector.flows import Decision
from connector.flows.model import OfferSpec
from connector.pursuit import schedule
from connector.routing import accounts, holds
from connector.routing.cursors import order_for_offer
from connector.routing.offer_view import preview_lines, summary
from connector.store import timeline, writeback
from connector.store.models import Lead, Offer, Rep
from connector.store.statuses import LeadStatus, OfferStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What happened to an accept/decline: status is accepted, declined, taken (someone else won),
    expired, answered (this offer was already answered) or closed (the lead moved on)."""

    status: str
    offer_id: int
    lead_id: int


# what an accept/decline of an offer no longer pending answers, by the offer's status
ANSWER_TO_CLOSED: dict[str, str] = {OfferStatus.LOST: "taken", OfferStatus.EXPIRED: "expired",
                                    OfferStatus.WITHDRAWN: "closed"}


def lock_lead(session: Session, lead_id: int) -> Lead:
    """The lead, locked for the rest of the transaction (SQLite: take the write lock before reading)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Lead).where(Lead.id == lead_id).values(updated_at=Lead.updated_at))
    lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    return lead


def _rep(session: Session, rep_id: int) -> Rep:
    """The rep an offer names (a foreign key: always there while the offer is)."""
    rep = session.get(Rep, rep_id)
    if rep is None:
        raise NotFound(f"no rep {rep_id}")
    return rep


def token_for(rt: Runtime, offer: Offer) -> str:
    return Tokens(rt.settings.secret_key).make("offer", offer.id, expires_at=offer.expires_at,
                                               nonce=str(offer.rep_id))


def link_for(rt: Runtime, offer: Offer) -> str:
    base = (rt.settings.public_url or rt.settings.base_url).rstrip("/")
    return f"{base}/o/{token_for(rt, offer)}"


# ---- starting ----------------------------------------------------------------------------------

def _settings(decision: Decision, rt: Runtime, flow_name: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(offer settings as a dict, route settings) for the lead's flow."""
    plan = decision.plan
    offer: OfferSpec | None = plan.offer if plan is not None else None
    if offer is None and rt.spec is not None and flow_name:
        offer = rt.spec.flow(flow_name).offer
    settings = offer.as_dict() if offer is not None else {}
    settings.setdefault("mode", "sequential")
    settings.setdefault("window_seconds", 300)
    settings.setdefault("sequential_count", 3)
    route = rt.spec.flow(flow_name).route if rt.spec is not None and flow_name else None
    return settings, {"chooser": getattr(route, "chooser", "round_robin"),
                      "fallback": getattr(route, "fallback", None),
                      "filters": tuple(getattr(route, "filters", ()))}


def start(session: Session, rt: Runtime, lead: Lead, decision: Decision, now: datetime) -> list[Offer]:
    """Freeze the lead's candidates (stateful choosers applied under the pool lock) and make the
    first offer(s) in the caller's transaction; escalate at once when nobody is eligible. A lead waiting
    behind a worked sibling is linked to it first (routing.accounts); one the plan holds outside working
    hours is held instead (routing.holds) and offered by the tick when the hold ends."""
    plan = decision.plan
    accounts.link_sibling(session, lead, plan, now)
    if plan is not None and holds.should_hold(plan):
        holds.hold(session, lead, plan, now)
        writeback.write_outcome(session, rt, lead)
        return []
    kept = [c for c in (plan.candidates if plan else ()) if c.kept]
    settings, route = _settings(decision, rt, lead.flow)
    reps = {r.id: r for r in session.scalars(select(Rep).where(Rep.id.in_([c.rep_id for c in kept])))}
    ids = [c.rep_id for c in kept if c.rep_id in reps]
    pinned = 1 if kept and "account owner" in (kept[0].reason or "") else 0
    preferred = frozenset(r.id for r in reps.values() if r.preferred) if "preferred" in route["filters"] \
        else frozenset()
    pool = f"{lead.flow}:{plan.team if plan else ''}"
    ordered = order_for_offer(session, pool, route["chooser"], ids, pinned=pinned, preferred=preferred,
                              weights={r.id: r.weight for r in reps.values()})
    lead.offer_plan = {**settings, "pool": pool, "chooser": route["chooser"], "candidates": ordered,
                       "next": 0, "round": 0, "queue": route["fallback"] or (plan.team if plan else None)}
    return advance(session, rt, lead, now)


def _eligible_now(session: Session, rep: Rep | None, now: datetime) -> str | None:
    """Re-check, at offer time, what can change after routing: active, absence, open offers."""
    if rep is None or not rep.active:
        return "inactive"
    if rep.absent_from and rep.absent_from <= now and (rep.absent_until is None or now < rep.absent_until):
        return "absent"
    open_offers = session.scalar(select(func.count()).select_from(Offer)
                                 .where(Offer.rep_id == rep.id, Offer.status == OfferStatus.PENDING)) or 0
    if open_offers >= rep.max_open_offers:
        return f"at capacity ({open_offers} open offers)"
    return None


def advance(session: Session, rt: Runtime, lead: Lead, now: datetime) -> list[Offer]:
    """Offer the lead to the next candidate(s) per its plan; escalate when none is left."""
    plan = dict(lead.offer_plan or {})
    cands, pos = list(plan.get("candidates", [])), int(plan.get("next", 0))
    first = int(plan.get("round", 0)) == 0  # just routed: the engine checked eligibility a moment ago
    made = 0 if first else (session.scalar(select(func.count()).select_from(Offer)
                                           .where(Offer.lead_id == lead.id)) or 0) - int(plan.get("offset", 0))
    budget = (plan.get("max_offers") or len(cands)) - made
    mode = plan.get("mode", "sequential")
    broadcast = mode == "broadcast" or (mode == "sequential_then_broadcast"
                                        and pos >= int(plan.get("sequential_count", 1)))
    chosen: list[Rep] = []
    skipped: list[dict[str, Any]] = []
    while pos < len(cands) and budget - len(chosen) > 0 and (broadcast or not chosen):
        rep = session.get(Rep, cands[pos])
        pos += 1
        why = None if first and rep is not None else _eligible_now(session, rep, now)
        if rep is not None and why is None:
            chosen.append(rep)
        else:
            skipped.append({"rep_id": cands[pos - 1], "reason": why})
    plan["next"] = pos
    if not chosen:
        lead.offer_plan = plan
        reason = "the maximum number of offers was reached" if budget <= 0 and made else \
            "no eligible rep" if not made else "every candidate declined or let the offer expire"
        escalate(session, rt, lead, now, reason, skipped=skipped)
        return []
    plan["round"] = int(plan.get("round", 0)) + 1
    lead.offer_plan = plan
    expires = now + timedelta(seconds=int(plan.get("window_seconds", 300)))
    offers = [Offer(lead_id=lead.id, rep_id=rep.id, mode="broadcast" if broadcast else "exclusive",
                    round=plan["round"], status=OfferStatus.PENDING, offered_at=now, expires_at=expires)
              for rep in chosen]
    session.add_all(offers)
    session.flush()
    if lead.status != LeadStatus.OFFERED:  # the CRMs hear of the state, not of every next rep
        lead.status = LeadStatus.OFFERED
        writeback.write_outcome(session, rt, lead)
    lead.updated_at = now
    lead.first_offered_at = lead.first_offered_at or now
    names = ", ".join(rep.name for rep in chosen)
    timeline.record(session, lead.id, "offered",
                    f"Offered {'to ' + names + ' at once' if broadcast else 'exclusively to ' + names} "
                    f"until {expires:%H:%M} UTC (round {plan['round']})",
                    {"offers": [o.id for o in offers], "reps": [r.id for r in chosen], "mode": offers[0].mode,
                     "expires_at": expires.isoformat(), "skipped": skipped}, at=now)
    for offer, rep in zip(offers, chosen, strict=True):
        _send_offer(session, rt, lead, offer, rep, plan)
    return offers


def _send_offer(session: Session, rt: Runtime, lead: Lead, offer: Offer, rep: Rep, plan: dict[str, Any]) -> None:
    hidden = bool(plan.get("hide_contact_until_accepted", True))
    window = "yours for" if offer.mode == "exclusive" else "first to accept, within"
    notify.queue_email(session, rt, kind="offer", to=rep.email, lead_id=lead.id,
                       subject=f"New lead: {summary(lead)} — {window} "
                               f"{int(plan.get('window_seconds', 300)) // 60} min",
                       template="offer",
                       context={"rep_name": rep.name, "exclusive": offer.mode == "exclusive",
                                "expires_at": f"{offer.expires_at:%Y-%m-%d %H:%M} UTC", "lead_summary": summary(lead),
                                "preview": preview_lines(lead, contact=not hidden), "link": link_for(rt, offer),
                                "hidden_contact": hidden})


# ---- answering ---------------------------------------------------------------------------------

def _answer(rt: Runtime, offer_id: int, now: datetime, act: Callable[[Session, Lead, Offer], Answer]) -> Answer:
    with rt.db.session() as s:
        lead_id = s.scalar(select(Offer.lead_id).where(Offer.id == offer_id))
        if lead_id is None:
            raise NotFound(f"no offer {offer_id}")
        lead = lock_lead(s, lead_id)
        offer = s.get(Offer, offer_id, populate_existing=True)
        if offer is None:  # deleted since its lead id was read
            raise NotFound(f"no offer {offer_id}")
        if offer.status != OfferStatus.PENDING:
            return Answer(ANSWER_TO_CLOSED.get(offer.status, "answered"), offer_id, lead_id)
        if offer.expires_at <= now:
            return Answer("expired", offer_id, lead_id)
        return act(s, lead, offer)


def accept(rt: Runtime, offer_id: int, *, now: datetime | None = None) -> Answer:
    """The rep takes the lead: exactly one accept per lead wins, even across processes."""
    now = now or rt.clock.now()

    def act(s: Session, lead: Lead, offer: Offer) -> Answer:
        result = s.execute(update(Offer).where(Offer.id == offer.id, Offer.status == OfferStatus.PENDING,
                                               Offer.expires_at > now)
                           .values(status=OfferStatus.ACCEPTED, responded_at=now))
        if cast(CursorResult[Any], result).rowcount != 1:  # an UPDATE's result is a CursorResult
            return Answer("answered", offer.id, lead.id)
        close_pending(s, lead.id, now, OfferStatus.LOST)
        rep = _rep(s, offer.rep_id)
        seconds = (now - lead.captured_at).total_seconds()
        timeline.record(s, lead.id, "accepted", f"Accepted by {rep.name} ({seconds:.0f} s after capture)",
                        {"offer_id": offer.id, "rep_id": rep.id, "seconds_to_accept": seconds}, at=now)
        hand_over(s, rt, lead, rep, now)
        accounts.claim_on_accept(s, rt, lead, rep, now)
        return Answer("accepted", offer.id, lead.id)

    try:
        return _answer(rt, offer_id, now, act)
    except IntegrityError:  # uq_offers_one_accept: another offer of this lead was accepted first
        with rt.db.session() as s:
            lead_id = s.scalar(select(Offer.lead_id).where(Offer.id == offer_id))
            if lead_id is None:
                raise NotFound(f"no offer {offer_id}") from None
            return Answer("taken", offer_id, lead_id)


def _sync_owner(session: Session, rt: Runtime, lead: Lead, rep: Rep) -> None:
    """Queue the owner and status write-back to the CRMs the flow writes to (outbox, same transaction)."""
    writeback.write_outcome(session, rt, lead)


def hand_over(session: Session, rt: Runtime, lead: Lead, rep: Rep, now: datetime) -> None:
    """Make `rep` the owner of the (locked) lead as an accept does, in the caller's transaction: status
    accepted, accepted_at now, the owner written back to the CRMs, and the feedback cadence started (a
    previous owner's scheduled requests cancelled). The caller closes the pending offers and records why."""
    lead.owner_rep_id, lead.status, lead.accepted_at, lead.updated_at = rep.id, LeadStatus.ACCEPTED, now, now
    lead.hold_until = None
    _sync_owner(session, rt, lead, rep)
    schedule.on_accepted(session, rt, lead, now)


def close_pending(session: Session, lead_id: int, now: datetime, status: OfferStatus) -> list[int]:
    """Answer every pending offer of the lead with `status` (lost: another rep took it; withdrawn: the lead
    was taken away from the offers); returns their ids. Call with the lead locked."""
    ids = list(session.scalars(select(Offer.id).where(Offer.lead_id == lead_id, Offer.status == OfferStatus.PENDING)))
    if ids:
        session.execute(update(Offer).where(Offer.id.in_(ids), Offer.status == OfferStatus.PENDING)
                        .values(status=status, responded_at=now))
    return ids


def restart(session: Session, rt: Runtime, lead: Lead, now: datetime) -> list[Offer]:
    """Offer the (locked) lead again from the first candidate of its stored plan, each candidate checked
    for eligibility now, with a fresh offer budget (earlier offers do not count against max_offers);
    escalates when nobody is eligible. The caller closes pending offers first."""
    plan = dict(lead.offer_plan or {})
    made = session.scalar(select(func.count()).select_from(Offer).where(Offer.lead_id == lead.id)) or 0
    plan.update(next=0, round=max(int(plan.get("round", 0)), 1), offset=made)
    lead.offer_plan = plan
    lead.hold_until = None
    return advance(session, rt, lead, now)


def decline(rt: Runtime, offer_id: int, *, reason: str | None = None, now: datetime | None = None) -> Answer:
    """The rep passes: recorded with the optional reason; the next candidate gets the lead."""
    now = now or rt.clock.now()
    reason = (reason or "").strip()[:255] or None

    def act(s: Session, lead: Lead, offer: Offer) -> Answer:
        offer.status, offer.responded_at, offer.decline_reason = OfferStatus.DECLINED, now, reason
        rep = _rep(s, offer.rep_id)
        timeline.record(s, lead.id, "declined", f"Declined by {rep.name}" + (f": {reason}" if reason else ""),
                        {"offer_id": offer.id, "rep_id": rep.id, "reason": reason}, at=now)
        s.flush()
        _move_on_if_idle(s, rt, lead, now)
        return Answer("declined", offer.id, lead.id)

    return _answer(rt, offer_id, now, act)


def _move_on_if_idle(session: Session, rt: Runtime, lead: Lead, now: datetime) -> None:
    pending = session.scalar(select(func.count()).select_from(Offer)
                             .where(Offer.lead_id == lead.id, Offer.status == OfferStatus.PENDING))
    if not pending and lead.status == LeadStatus.OFFERED:
        advance(session, rt, lead, now)


def expire_step(rt: Runtime, now: datetime) -> int:
    """Tick step: expire pending offers past expires_at and move each lead on; returns how many expired."""
    with rt.db.session() as s:
        due = s.execute(select(Offer.id, Offer.lead_id)
                        .where(Offer.status == OfferStatus.PENDING, Offer.expires_at <= now)
                        .order_by(Offer.expires_at).limit(500)).all()
    done = 0
    for lead_id in dict.fromkeys(row.lead_id for row in due):
        with rt.db.session() as s:
            lead = lock_lead(s, lead_id)
            expired = s.scalars(select(Offer).where(Offer.lead_id == lead_id, Offer.status == OfferStatus.PENDING,
                                                    Offer.expires_at <= now)).all()
            for offer in expired:
                offer.status, offer.responded_at = OfferStatus.EXPIRED, now
            if expired:
                names = ", ".join(_rep(s, o.rep_id).name for o in expired)
                timeline.record(s, lead_id, "expired", f"Offer to {names} expired unanswered",
                                {"offers": [o.id for o in expired]}, at=now)
                s.flush()
                _move_on_if_idle(s, rt, lead, now)
            done += len(expired)
    return done


# ---- escalation ---------------------------------------------------------------------------------

def escalate(session: Session, rt: Runtime, lead: Lead, now: datetime, reason: str,
             skipped: Iterable[dict[str, Any]] = ()) -> None:
    """Nobody took the lead: unassigned queue (status escalated), timeline entry, manager e-mail."""
    plan = lead.offer_plan or {}
    lead.status, lead.updated_at = LeadStatus.ESCALATED, now
    writeback.write_outcome(session, rt, lead)
    offers = session.scalars(select(Offer).where(Offer.lead_id == lead.id).order_by(Offer.id)).all()
    reps = {r.id: r for r in session.scalars(select(Rep).where(Rep.id.in_({o.rep_id for o in offers}
                                                                           | set(plan.get("candidates", [])))))}
    to = plan.get("escalate_to") or next((r.manager_email for r in reps.values() if r.manager_email), None)
    timeline.record(session, lead.id, "escalated", f"Escalated: {reason}; now in the unassigned queue"
                    + (f" and {to} was told" if to else " (no manager e-mail configured)"),
                    {"reason": reason, "queue": plan.get("queue"), "manager": to, "skipped": list(skipped)}, at=now)
    if to:
        notify.queue_email(session, rt, kind="escalation", to=to, lead_id=lead.id,
                           subject=f"Unassigned lead #{lead.id}: {summary(lead)}", template="escalation",
                           context={"lead_id": lead.id, "lead_summary": summary(lead), "flow": lead.flow,
                                    "reason": reason, "queue": plan.get("queue"),
                                    "offers": [{"rep": reps[o.rep_id].name, "status": o.status,
                                                "reason": o.decline_reason} for o in offers]})
