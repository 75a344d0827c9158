"""The tick's feedback steps: send the requests that are due, escalate the ones left unanswered.

`escalate_overdue` tells the rep's manager once `escalate_after` sent requests sit unanswered for a
cadence interval each. Every step lands on the lead's timeline.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from connector import notify
from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import cadence
from connector.pursuit.links import LINK_VALIDITY, QUICK_ACTIONS, link, sent_at
from connector.pursuit.schedule import on_accepted, schedule_next, spec_for, stop_reason
from connector.store import privacy, timeline
from connector.store.models import FeedbackRequest, Lead, Rep
from connector.store.statuses import FeedbackStatus, LeadStatus

log = logging.getLogger(__name__)


def lead_summary(lead: Lead) -> str:
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or f"lead {lead.id}"
    return f"{name} — {lead.company}" if lead.company else name


def _lead(session: Session, lead_id: int) -> Lead:
    """The lead a request is about (a foreign key: always there while the request is)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"no lead {lead_id}")
    return lead


def _rep(session: Session, rep_id: int | None) -> Rep:
    """The rep a request goes to, or the owner of a lead with open requests."""
    rep = session.get(Rep, rep_id) if rep_id is not None else None
    if rep is None:
        raise NotFound(f"no rep {rep_id}")
    return rep


def _send_one(rt: Runtime, request_id: int, now: datetime) -> bool:
    with rt.db.session() as s:
        request = s.get(FeedbackRequest, request_id)
        if request is None or request.status != FeedbackStatus.SCHEDULED:
            return False
        lead = _lead(s, request.lead_id)
        if privacy.withheld(s, rt.spec, lead, "feedback", now):  # opted out (flows.yaml consent:): no more requests
            s.execute(update(FeedbackRequest).where(FeedbackRequest.id == request_id,
                                                    FeedbackRequest.status == FeedbackStatus.SCHEDULED)
                      .values(status=FeedbackStatus.CANCELLED))
            return False
        stop = stop_reason(lead, request.rep_id)
        result = s.execute(update(FeedbackRequest).where(
            FeedbackRequest.id == request_id, FeedbackRequest.status == FeedbackStatus.SCHEDULED)
            .values(status=FeedbackStatus.CANCELLED if stop else FeedbackStatus.SENT, sent_at=None if stop else now))
        if cast(CursorResult[Any], result).rowcount != 1:  # another worker took it (an UPDATE gives a CursorResult)
            return False
        if stop:
            timeline.record(s, lead.id, "feedback.cancelled", f"Feedback request {request.seq} not sent: {stop}",
                            {"request_id": request.id}, at=now)
            if lead.status == LeadStatus.ACCEPTED and lead.owner_rep_id is not None:  # reassigned (e.g. in the CRM)
                on_accepted(s, rt, lead, now)  # the new owner is asked on the flow's cadence
            return False
        s.refresh(request)
        rep = _rep(s, request.rep_id)
        spec = spec_for(rt, lead)
        total = cadence.cadence_for(spec, lead.product).max_requests
        context = {"rep_name": rep.name, "lead_id": lead.id, "lead_summary": lead_summary(lead), "seq": request.seq,
                   "total": total, "product": lead.product, "link": link(rt, request),
                   "quick": {label: link(rt, request, f"/quick/{action}")
                             for action, label in QUICK_ACTIONS.items()},
                   "until_level": spec.until_level, "level_name": cadence.LEVEL_NAMES[spec.until_level],
                   "valid_until": f"{now + LINK_VALIDITY:%Y-%m-%d}"}
        notify.queue_email(s, rt, kind="feedback", to=rep.email, template="feedback_request", context=context,
                           subject=f"How is it going with {lead_summary(lead)}? (feedback {request.seq}/{total})",
                           lead_id=lead.id)
        timeline.record(s, lead.id, "feedback.sent", f"Feedback request {request.seq} sent to {rep.name}",
                        {"request_id": request.id, "rep_id": rep.id}, at=now)
        schedule_next(s, rt, lead, now)
        return True


def send_due(rt: Runtime, now: datetime) -> int:
    """Tick step: send every scheduled request whose time has come; return how many went out.

    Safe to run twice or concurrently: a request is claimed by a conditional update before its e-mail
    is queued, in the same transaction.
    """
    with rt.db.session() as s:
        due = s.scalars(select(FeedbackRequest.id).where(
            FeedbackRequest.status == FeedbackStatus.SCHEDULED, FeedbackRequest.due_at <= now)
            .order_by(FeedbackRequest.due_at).limit(500)).all()
    return sum(1 for request_id in due if _send_one(rt, request_id, now))


class _Raced(Exception):
    """Another worker escalated some of the same requests first: roll this attempt back."""


def _escalate_lead(rt: Runtime, lead_id: int, now: datetime) -> bool:
    try:
        return _escalate_in(rt, lead_id, now)
    except _Raced:
        return False


def _escalate_in(rt: Runtime, lead_id: int, now: datetime) -> bool:
    with rt.db.session() as s:
        lead = _lead(s, lead_id)
        open_rows = s.scalars(select(FeedbackRequest).where(
            FeedbackRequest.lead_id == lead_id, FeedbackRequest.status == FeedbackStatus.SENT)).all()
        stopped = [r for r in open_rows if stop_reason(lead, r.rep_id)]
        for row in stopped:  # a reassigned or closed lead's old requests can no longer be overdue
            row.status = FeedbackStatus.CANCELLED
        spec = spec_for(rt, lead)
        window = cadence.answer_window(spec, lead.product)
        overdue = [r for r in open_rows if r not in stopped and sent_at(r) + window <= now]
        if not cadence.should_escalate(spec, len(overdue)):
            return False
        ids = [r.id for r in overdue]
        result = s.execute(update(FeedbackRequest)
                           .where(FeedbackRequest.id.in_(ids), FeedbackRequest.status == FeedbackStatus.SENT)
                           .values(status=FeedbackStatus.ESCALATED))
        if cast(CursorResult[Any], result).rowcount != len(ids):  # an UPDATE's result is a CursorResult
            raise _Raced()
        rep = _rep(s, lead.owner_rep_id)
        data = {"rep_id": rep.id, "unanswered": len(ids), "request_ids": ids}
        if not rep.manager_email:
            timeline.record(s, lead.id, "feedback.escalated",
                            f"{len(ids)} feedback requests to {rep.name} unanswered; no manager e-mail on file",
                            data, at=now)
            return True
        context = {"rep_name": rep.name, "rep_email": rep.email, "lead_id": lead.id,
                   "lead_summary": lead_summary(lead), "unanswered": len(ids), "flow": lead.flow,
                   "first_sent": f"{min(sent_at(r) for r in overdue):%Y-%m-%d}"}
        notify.queue_email(s, rt, kind="feedback_escalation", to=rep.manager_email, template="feedback_escalation",
                           subject=f"Overdue feedback: {rep.name} has not answered about lead #{lead.id}",
                           context=context, lead_id=lead.id)
        timeline.record(s, lead.id, "feedback.escalated",
                        f"{len(ids)} feedback requests to {rep.name} unanswered; told {rep.manager_email}",
                        data, at=now)
        return True


def escalate_overdue(rt: Runtime, now: datetime) -> int:
    """Tick step: escalate to the rep's manager every lead with `escalate_after` overdue requests.

    A request is overdue once it has been out for one cadence interval unanswered. Escalated requests
    are not counted again, so a manager hears again only after another `escalate_after` go unanswered.
    """
    with rt.db.session() as s:
        lead_ids = sorted(set(s.scalars(select(FeedbackRequest.lead_id)
                                        .where(FeedbackRequest.status == FeedbackStatus.SENT))))
    return sum(1 for lead_id in lead_ids if _escalate_lead(rt, lead_id, now))
