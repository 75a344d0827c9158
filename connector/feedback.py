"""Pursuit feedback: ask the owner of every accepted lead what happened, on the flow's cadence.

Each `feedback_requests` row is a timer: a "scheduled" row whose `due_at` has come is sent by the tick
step `send_due`, which schedules the next one from the pure cadence (connector.flows.cadence). Requests
stop when the wanted level has been received completely, the lead is reassigned, or it is closed.
`escalate_overdue` tells the rep's manager once `escalate_after` sent requests sit unanswered for a
cadence interval each. Answers (form, e-mail one-click, or a status changed in the CRM) are stored as
`feedback_responses`, applied to the lead (won/lost, un-convert to nurture) and written to the CRM
through the outbox, all in the caller's transaction, and every step lands on the lead's timeline.

Links: a token per request (purpose "feedback", the request id, nonce "<lead id>:<rep id>"), valid for
LINK_VALIDITY after sending. An older request's link keeps working while it is valid: the form always
shows and updates the lead's current answers, and says that a newer request exists.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector import notify, timeline
from connector.clock import as_utc
from connector.errors import NotFound, TokenError
from connector.flows import cadence, pursuit
from connector.flows.model import FeedbackSpec
from connector.flows.pursuit import Answers
from connector.store.models import FeedbackRequest, FeedbackResponse, Lead, Rep
from connector.tokens import Tokens

log = logging.getLogger(__name__)

LINK_VALIDITY = timedelta(days=45)
CLOSED = ("won", "lost", "closed", "nurture", "rejected", "duplicate")
OPEN = ("sent", "escalated")  # sent and not yet answered
CRMS = ("hubspot", "salesforce")
QUICK_ACTIONS = {"call": "called", "email": "e-mailed", "visit": "visited", "not_yet": "not contacted yet"}


def spec_for(rt, lead: Lead) -> FeedbackSpec:
    """The feedback section of the lead's flow (NotFound if the lead has no known flow)."""
    if not lead.flow:
        raise NotFound(f"lead {lead.id} has no flow, so no feedback cadence")
    return rt.spec.flow(lead.flow).feedback


def _stop_reason(lead: Lead, rep_id: int) -> str | None:
    if lead.status in CLOSED:
        return f"lead is closed ({lead.status})"
    if lead.owner_rep_id != rep_id:
        return "lead was reassigned to another rep"
    return None


def history(session: Session, lead_id: int, rep_id: int | None = None) -> list[Answers]:
    """Every answer given about a lead (by `rep_id` when given), oldest first."""
    query = select(FeedbackResponse).where(FeedbackResponse.lead_id == lead_id)
    if rep_id is not None:
        query = query.where(FeedbackResponse.rep_id == rep_id)
    rows = session.scalars(query.order_by(FeedbackResponse.received_at, FeedbackResponse.id))
    return [pursuit.make_answers(
        contacted=r.contacted, action=r.action, action_at=as_utc(r.action_at).date() if r.action_at else None,
        pursuit_status=r.pursuit_status, outcome=r.outcome, amount=r.amount,
        close_date=as_utc(r.close_date).date() if r.close_date else None, lost_reason=r.lost_reason)
        for r in rows]


def highest_level(session: Session, lead: Lead) -> int:
    """The highest level the lead's current owner has answered completely (0 for none)."""
    return max((a.reached for a in history(session, lead.id, lead.owner_rep_id)), default=0)


def _sent_count(session: Session, lead: Lead) -> int:
    return len(session.scalars(select(FeedbackRequest.id).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == lead.owner_rep_id,
        FeedbackRequest.sent_at.is_not(None))).all())


def _schedule_next(session: Session, rt, lead: Lead, now: datetime) -> FeedbackRequest | None:
    """Add the next "scheduled" request for the lead's owner, or record on the timeline why none."""
    spec = spec_for(rt, lead)
    sent = _sent_count(session, lead)
    due = cadence.next_due(spec, lead.product, as_utc(lead.accepted_at), sent, highest_level(session, lead))
    if due.stop:
        timeline.record(session, lead.id, "feedback.stopped", f"No more feedback requests: {due.reason}",
                        {"requests_sent": sent}, at=now)
        return None
    request = FeedbackRequest(lead_id=lead.id, rep_id=lead.owner_rep_id, seq=due.seq, due_at=due.at,
                              status="scheduled")
    session.add(request)
    session.flush()
    timeline.record(session, lead.id, "feedback.scheduled",
                    f"Feedback request {due.seq} due {due.at:%Y-%m-%d %H:%M} UTC ({due.reason})",
                    {"request_id": request.id, "seq": due.seq}, at=now)
    return request


def _cancel_scheduled(session: Session, lead: Lead, reason: str, now: datetime, *, keep_rep: int | None = None) -> int:
    query = update(FeedbackRequest).where(FeedbackRequest.lead_id == lead.id,
                                          FeedbackRequest.status == "scheduled")
    if keep_rep is not None:
        query = query.where(FeedbackRequest.rep_id != keep_rep)
    cancelled = session.execute(query.values(status="cancelled")).rowcount
    if cancelled:
        timeline.record(session, lead.id, "feedback.cancelled",
                        f"Scheduled feedback request cancelled: {reason}", at=now)
    return cancelled


def on_accepted(session: Session, rt, lead: Lead, now: datetime) -> FeedbackRequest | None:
    """Start the cadence for a lead its owner just accepted (call in the accepting transaction).

    Cancels scheduled requests for any previous owner. Idempotent: a second call for the same owner
    returns the request already scheduled or sent.
    """
    if lead.owner_rep_id is None or lead.accepted_at is None:
        raise NotFound(f"lead {lead.id} has no accepted owner to ask for feedback")
    _cancel_scheduled(session, lead, "lead was reassigned to another rep", now, keep_rep=lead.owner_rep_id)
    existing = session.scalars(select(FeedbackRequest).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == lead.owner_rep_id,
        FeedbackRequest.status.in_(("scheduled", "sent")))).first()
    if existing is not None:
        return existing
    spec = spec_for(rt, lead)
    timeline.record(session, lead.id, "feedback.cadence",
                    f"Feedback cadence: {cadence.describe(cadence.cadence_for(spec, lead.product), spec.until_level)}",
                    at=now)
    return _schedule_next(session, rt, lead, now)


# ---- links -------------------------------------------------------------------------------------------

def _tokens(rt) -> Tokens:
    return Tokens(rt.settings.secret_key)


def link(rt, request: FeedbackRequest, suffix: str = "") -> str:
    """The no-login URL of a sent request's form (or of a one-click action when `suffix` is given)."""
    base = (rt.settings.public_url or rt.settings.base_url).rstrip("/")
    token = _tokens(rt).make("feedback", request.id, expires_at=as_utc(request.sent_at) + LINK_VALIDITY,
                             nonce=f"{request.lead_id}:{request.rep_id}")
    return f"{base}/f/{token}{suffix}"


@dataclass
class Opened:
    """A request opened through its link, with what the form needs."""

    request: FeedbackRequest
    lead: Lead
    rep: Rep
    spec: FeedbackSpec
    known: Answers
    newer: FeedbackRequest | None  # a later request sent to the same rep, if any


def open_request(session: Session, rt, token: str, now: datetime) -> Opened:
    """Check a link and load its request; raise TokenError saying clearly why a link cannot be used."""
    request_id, nonce = _tokens(rt).read(token, "feedback", now=now)
    request = session.get(FeedbackRequest, request_id)
    if request is None or nonce != f"{request.lead_id}:{request.rep_id}":
        raise TokenError("this link does not belong to this lead")
    lead = session.get(Lead, request.lead_id)
    if lead.owner_rep_id != request.rep_id:
        raise TokenError("this lead has been reassigned to another rep: no feedback is needed from you")
    newer = session.scalars(select(FeedbackRequest).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == request.rep_id,
        FeedbackRequest.seq > request.seq, FeedbackRequest.sent_at.is_not(None))
        .order_by(FeedbackRequest.seq.desc())).first()
    return Opened(request, lead, session.get(Rep, request.rep_id), spec_for(rt, lead),
                  pursuit.merged(history(session, lead.id, request.rep_id)), newer)


# ---- the tick ----------------------------------------------------------------------------------------

def lead_summary(lead: Lead) -> str:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or f"lead {lead.id}"
    return f"{name} — {lead.company}" if lead.company else name


def _send_one(rt, request_id: int, now: datetime) -> bool:
    with rt.db.session() as s:
        request = s.get(FeedbackRequest, request_id)
        if request is None or request.status != "scheduled":
            return False
        lead = s.get(Lead, request.lead_id)
        stop = _stop_reason(lead, request.rep_id)
        claimed = s.execute(update(FeedbackRequest).where(
            FeedbackRequest.id == request_id, FeedbackRequest.status == "scheduled")
            .values(status="cancelled" if stop else "sent", sent_at=None if stop else now)).rowcount
        if claimed != 1:  # another worker took it
            return False
        if stop:
            timeline.record(s, lead.id, "feedback.cancelled", f"Feedback request {request.seq} not sent: {stop}",
                            {"request_id": request.id}, at=now)
            if lead.status == "accepted" and lead.owner_rep_id is not None:  # reassigned (e.g. in the CRM)
                on_accepted(s, rt, lead, now)  # the new owner is asked on the flow's cadence
            return False
        s.refresh(request)
        rep = s.get(Rep, request.rep_id)
        spec = spec_for(rt, lead)
        total = cadence.cadence_for(spec, lead.product).max_requests
        context = {"rep_name": rep.name, "lead_id": lead.id, "lead_summary": lead_summary(lead), "seq": request.seq,
                   "total": total, "product": lead.product, "link": link(rt, request),
                   "quick": {label: link(rt, request, f"/quick/{action}") for action, label in QUICK_ACTIONS.items()},
                   "until_level": spec.until_level, "level_name": cadence.LEVEL_NAMES[spec.until_level],
                   "valid_until": f"{now + LINK_VALIDITY:%Y-%m-%d}"}
        notify.queue_email(s, rt, kind="feedback", to=rep.email, template="feedback_request", context=context,
                           subject=f"How is it going with {lead_summary(lead)}? (feedback {request.seq}/{total})",
                           lead_id=lead.id)
        timeline.record(s, lead.id, "feedback.sent", f"Feedback request {request.seq} sent to {rep.name}",
                        {"request_id": request.id, "rep_id": rep.id}, at=now)
        _schedule_next(s, rt, lead, now)
        return True


def send_due(rt, now: datetime) -> int:
    """Tick step: send every scheduled request whose time has come; return how many went out.

    Safe to run twice or concurrently: a request is claimed by a conditional update before its e-mail
    is queued, in the same transaction.
    """
    with rt.db.session() as s:
        due = s.scalars(select(FeedbackRequest.id).where(
            FeedbackRequest.status == "scheduled", FeedbackRequest.due_at <= now)
            .order_by(FeedbackRequest.due_at).limit(500)).all()
    return sum(1 for request_id in due if _send_one(rt, request_id, now))


class _Raced(Exception):
    """Another worker escalated some of the same requests first: roll this attempt back."""


def _escalate_lead(rt, lead_id: int, now: datetime) -> bool:
    try:
        return _escalate_in(rt, lead_id, now)
    except _Raced:
        return False


def _escalate_in(rt, lead_id: int, now: datetime) -> bool:
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        open_rows = s.scalars(select(FeedbackRequest).where(
            FeedbackRequest.lead_id == lead_id, FeedbackRequest.status == "sent")).all()
        stopped = [r for r in open_rows if _stop_reason(lead, r.rep_id)]
        for row in stopped:  # a reassigned or closed lead's old requests can no longer be overdue
            row.status = "cancelled"
        spec = spec_for(rt, lead)
        window = cadence.answer_window(spec, lead.product)
        overdue = [r for r in open_rows if r not in stopped and as_utc(r.sent_at) + window <= now]
        if not cadence.should_escalate(spec, len(overdue)):
            return False
        ids = [r.id for r in overdue]
        if s.execute(update(FeedbackRequest).where(FeedbackRequest.id.in_(ids), FeedbackRequest.status == "sent")
                     .values(status="escalated")).rowcount != len(ids):
            raise _Raced()
        rep = s.get(Rep, lead.owner_rep_id)
        data = {"rep_id": rep.id, "unanswered": len(ids), "request_ids": ids}
        if not rep.manager_email:
            timeline.record(s, lead.id, "feedback.escalated",
                            f"{len(ids)} feedback requests to {rep.name} unanswered; no manager e-mail on file",
                            data, at=now)
            return True
        context = {"rep_name": rep.name, "rep_email": rep.email, "lead_id": lead.id, "lead_summary": lead_summary(lead),
                   "unanswered": len(ids), "flow": lead.flow,
                   "first_sent": f"{min(as_utc(r.sent_at) for r in overdue):%Y-%m-%d}"}
        notify.queue_email(s, rt, kind="feedback_escalation", to=rep.manager_email, template="feedback_escalation",
                           subject=f"Overdue feedback: {rep.name} has not answered about lead #{lead.id}",
                           context=context, lead_id=lead.id)
        timeline.record(s, lead.id, "feedback.escalated",
                        f"{len(ids)} feedback requests to {rep.name} unanswered; told {rep.manager_email}", data, at=now)
        return True


def escalate_overdue(rt, now: datetime) -> int:
    """Tick step: escalate to the rep's manager every lead with `escalate_after` overdue requests.

    A request is overdue once it has been out for one cadence interval unanswered. Escalated requests
    are not counted again, so a manager hears again only after another `escalate_after` go unanswered.
    """
    with rt.db.session() as s:
        lead_ids = sorted(set(s.scalars(select(FeedbackRequest.lead_id).where(FeedbackRequest.status == "sent"))))
    return sum(1 for lead_id in lead_ids if _escalate_lead(rt, lead_id, now))


# ---- answers -----------------------------------------------------------------------------------------

def _at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(12, 0), tzinfo=timezone.utc) if day else None


def crm_fields(spec: FeedbackSpec, answers: Answers, lead: Lead, crm: str) -> dict:
    """The Leadwire fields (names as in CRM mapping files) that one response sets in `crm`, by level.

    Level 1: feedback.contacted/action/action_at; level 2: feedback.pursuit_status; level 3:
    feedback.outcome/amount/close_date/lost_reason and the lead's status, won_amount, closed_at and
    nurture_stream. feedback.pursuit_status carries the CRM's own status value for the pursuit status,
    or for won/lost, from the flow's `crm_status` (unmapped: the name itself; "": left unchanged).
    """
    day = lambda d: d.isoformat() if d else None  # noqa: E731
    status = answers.outcome or answers.pursuit_status
    values = {"feedback.level": answers.level, "feedback.contacted": answers.contacted,
              "feedback.action": answers.action, "feedback.action_at": day(answers.action_at),
              "feedback.pursuit_status": spec.crm_status.get(crm, {}).get(status, status) if status else None}
    if answers.outcome:
        values.update({"feedback.outcome": answers.outcome, "feedback.amount": answers.amount,
                       "feedback.close_date": day(answers.close_date), "feedback.lost_reason": answers.lost_reason,
                       "status": lead.status, "won_amount": lead.won_amount,
                       "closed_at": lead.closed_at.isoformat() if lead.closed_at else None,
                       "nurture_stream": lead.nurture_stream})
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _apply_outcome(session: Session, spec: FeedbackSpec, lead: Lead, answers: Answers, now: datetime) -> None:
    if not answers.outcome:
        return
    lead.closed_at = _at(answers.close_date) or now
    lead.won_amount = answers.amount if answers.outcome == "won" else None
    lead.status, lead.nurture_stream = answers.outcome, None
    what = f"{answers.amount:,.2f}" if answers.amount is not None else "amount not given"
    timeline.record(session, lead.id, "feedback.closed",
                    f"Lead {answers.outcome}" + (f" ({what})" if answers.outcome == "won"
                                                 else f" ({answers.lost_reason or 'no reason given'})"),
                    answers.as_dict(), at=now)
    if answers.outcome == "lost" and spec.lost_to_nurture:
        lead.status, lead.nurture_stream = "nurture", spec.lost_to_nurture
        timeline.record(session, lead.id, "feedback.unconverted",
                        f"Lost lead back in nurture stream {spec.lost_to_nurture!r}; its history is kept",
                        {"stream": spec.lost_to_nurture}, at=now)


def record(session: Session, rt, lead: Lead, rep_id: int | None, answers: Answers, now: datetime, *,
           request: FeedbackRequest | None = None, via: str = "form") -> FeedbackResponse:
    """Store one response and act on it in the caller's transaction.

    Marks the rep's open requests for the lead answered; closes the lead on won/lost (a lost lead goes
    back to the flow's nurture stream when it names one); writes the answers to the CRM through the
    outbox (not for answers that came from the CRM); stops the cadence when the wanted level has been
    received completely or the lead is closed.
    """
    spec = spec_for(rt, lead)
    response = FeedbackResponse(
        lead_id=lead.id, rep_id=rep_id, request_id=request.id if request else None, level=answers.level,
        complete=answers.complete, contacted=answers.contacted, action=answers.action,
        action_at=_at(answers.action_at), pursuit_status=answers.pursuit_status, outcome=answers.outcome,
        amount=answers.amount, close_date=_at(answers.close_date), lost_reason=answers.lost_reason,
        via=via, received_at=now)
    session.add(response)
    session.execute(update(FeedbackRequest).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == rep_id, FeedbackRequest.status.in_(OPEN))
        .values(status="answered", answered_at=now))
    state = "complete" if answers.complete else f"partial, still missing {', '.join(answers.missing)}"
    timeline.record(session, lead.id, "feedback.received",
                    f"Level {answers.level} ({cadence.LEVEL_NAMES[answers.level]}) feedback via {via}: {state}",
                    {**answers.as_dict(), "level": answers.level, "complete": answers.complete,
                     "missing": list(answers.missing), "request_id": response.request_id}, at=now)
    _apply_outcome(session, spec, lead, answers, now)
    lead.updated_at = now
    session.flush()
    if via != "crm":
        from connector import sync

        for crm in CRMS:
            sync.enqueue_lead_write(session, rt, lead, crm_fields(spec, answers, lead, crm), crms=(crm,))
    reached = highest_level(session, lead)
    if lead.status in CLOSED:
        _cancel_scheduled(session, lead, f"lead is closed ({lead.status})", now)
    elif reached >= spec.until_level:
        _cancel_scheduled(session, lead, f"level {reached} received; the flow asks until level {spec.until_level}", now)
    return response


def answer(session: Session, rt, opened: Opened, form: dict, now: datetime, *, via: str = "form") -> FeedbackResponse:
    """Validate a submitted form for an opened request and record it (ValidationError on bad input)."""
    answers = pursuit.validate_answers(opened.spec, form, now)
    return record(session, rt, opened.lead, opened.request.rep_id, answers, now, request=opened.request, via=via)


def quick_answers(action: str, now: datetime) -> Answers:
    """The level-1 answers of a one-click e-mail action (NotFound for an unknown action)."""
    if action not in QUICK_ACTIONS:
        raise NotFound(f"unknown one-click answer {action!r}; use one of {', '.join(QUICK_ACTIONS)}")
    if action == "not_yet":
        return pursuit.make_answers(contacted=False)
    return pursuit.make_answers(contacted=True, action=action, action_at=now.date())


def _norm(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def _crm_candidates(status: str, spec: FeedbackSpec) -> list[str]:
    """The pursuit statuses (then won, lost) a CRM status value stands for, by name or via `crm_status`."""
    key = _norm(status)
    names = (*spec.statuses, "won", "lost")
    aliases = {"won": ("closed_won",), "lost": ("closed_lost",)}
    return [name for name in names
            if key in (_norm(name), *aliases.get(name, ()))
            or any(v and _norm(v) == key for v in (m.get(name, "") for m in spec.crm_status.values()))]


def from_crm(session: Session, rt, lead: Lead, status: str, now: datetime) -> FeedbackResponse | None:
    """A rep changed the lead's status in the CRM: count it as feedback when the flow knows the status.

    Won/lost close the lead (level 3, partial: the CRM status carries no amount or reason); a pursuit
    status from the flow's list is level 2. A status already known (e.g. the echo of our own write) or one
    the flow does not list is recorded on the timeline and otherwise ignored; returns None then.
    """
    spec = spec_for(rt, lead)
    candidates = _crm_candidates(status, spec)
    if not candidates:
        timeline.record(session, lead.id, "feedback.crm_ignored",
                        f"CRM status {status!r} is not a pursuit status of flow {lead.flow!r}; not counted as feedback",
                        at=now)
        return None
    known = pursuit.merged(history(session, lead.id, lead.owner_rep_id))
    current = known.outcome if known.outcome and lead.status in CLOSED else known.pursuit_status
    if current in candidates:  # no change (e.g. several statuses share one CRM value)
        return None
    name = candidates[0]
    answers = pursuit.make_answers(**({"outcome": name} if name in ("won", "lost") else {"pursuit_status": name}))
    return record(session, rt, lead, lead.owner_rep_id, answers, now, via="crm")
