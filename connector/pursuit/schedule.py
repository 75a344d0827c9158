"""The feedback cadence of an accepted lead: which request comes next, when, and when it stops.

Each `feedback_requests` row is a timer: a "scheduled" row whose `due_at` has come is sent by the tick
(connector.pursuit.requests), which schedules the next one from the pure cadence (connector.flows.cadence).
Requests stop when the wanted level has been received completely, the lead is reassigned, or it is closed.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from connector.core.clock import as_utc
from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import cadence, pursuit
from connector.flows.model import FeedbackSpec
from connector.flows.pursuit import Answers
from connector.store import timeline
from connector.store.models import FeedbackRequest, FeedbackResponse, Lead
from connector.store.statuses import FeedbackStatus, LeadStatus

log = logging.getLogger(__name__)


CLOSED = (LeadStatus.WON, LeadStatus.LOST, LeadStatus.CLOSED, LeadStatus.NURTURE, LeadStatus.REJECTED,
          LeadStatus.DUPLICATE)
OPEN = (FeedbackStatus.SENT, FeedbackStatus.ESCALATED)  # sent and not yet answered


def spec_for(rt: Runtime, lead: Lead) -> FeedbackSpec:
    """The feedback section of the lead's flow (NotFound if the lead has no known flow)."""
    if not lead.flow:
        raise NotFound(f"lead {lead.id} has no flow, so no feedback cadence")
    return rt.spec.flow(lead.flow).feedback


def stop_reason(lead: Lead, rep_id: int) -> str | None:
    if lead.status in CLOSED:
        return f"lead is closed ({lead.status})"
    if lead.owner_rep_id != rep_id:
        return "lead was reassigned to another rep"
    return None


def _day(value: datetime | None) -> date | None:
    at = as_utc(value)
    return at.date() if at else None


def history(session: Session, lead_id: int, rep_id: int | None = None) -> list[Answers]:
    """Every answer given about a lead (by `rep_id` when given), oldest first."""
    query = select(FeedbackResponse).where(FeedbackResponse.lead_id == lead_id)
    if rep_id is not None:
        query = query.where(FeedbackResponse.rep_id == rep_id)
    rows = session.scalars(query.order_by(FeedbackResponse.received_at, FeedbackResponse.id))
    return [pursuit.make_answers(
        contacted=r.contacted, action=r.action, action_at=_day(r.action_at),
        pursuit_status=r.pursuit_status, outcome=r.outcome, amount=r.amount,
        close_date=_day(r.close_date), lost_reason=r.lost_reason)
        for r in rows]


def highest_level(session: Session, lead: Lead) -> int:
    """The highest level the lead's current owner has answered completely (0 for none)."""
    return max((a.reached for a in history(session, lead.id, lead.owner_rep_id)), default=0)


def _sent_count(session: Session, lead: Lead) -> int:
    return len(session.scalars(select(FeedbackRequest.id).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == lead.owner_rep_id,
        FeedbackRequest.sent_at.is_not(None))).all())


def schedule_next(session: Session, rt: Runtime, lead: Lead, now: datetime) -> FeedbackRequest | None:
    """Add the next "scheduled" request for the lead's owner, or record on the timeline why none."""
    spec = spec_for(rt, lead)
    accepted_at = as_utc(lead.accepted_at)
    if accepted_at is None:
        raise NotFound(f"lead {lead.id} has no accepted owner to ask for feedback")
    sent = _sent_count(session, lead)
    due = cadence.next_due(spec, lead.product, accepted_at, sent, highest_level(session, lead))
    if due.stop:
        timeline.record(session, lead.id, "feedback.stopped", f"No more feedback requests: {due.reason}",
                        {"requests_sent": sent}, at=now)
        return None
    request = FeedbackRequest(lead_id=lead.id, rep_id=lead.owner_rep_id, seq=due.seq, due_at=due.at,
                              status=FeedbackStatus.SCHEDULED)
    session.add(request)
    session.flush()
    timeline.record(session, lead.id, "feedback.scheduled",
                    f"Feedback request {due.seq} due {due.at:%Y-%m-%d %H:%M} UTC ({due.reason})",
                    {"request_id": request.id, "seq": due.seq}, at=now)
    return request


def cancel_scheduled(session: Session, lead: Lead, reason: str, now: datetime, *,
                     keep_rep: int | None = None) -> int:
    """Cancel the lead's scheduled requests (but those to `keep_rep`); returns how many."""
    query = update(FeedbackRequest).where(FeedbackRequest.lead_id == lead.id,
                                          FeedbackRequest.status == FeedbackStatus.SCHEDULED)
    if keep_rep is not None:
        query = query.where(FeedbackRequest.rep_id != keep_rep)
    result = session.execute(query.values(status=FeedbackStatus.CANCELLED))
    cancelled = cast(CursorResult[Any], result).rowcount  # an UPDATE's result is a CursorResult
    if cancelled:
        timeline.record(session, lead.id, "feedback.cancelled",
                        f"Scheduled feedback request cancelled: {reason}", at=now)
    return cancelled


def on_accepted(session: Session, rt: Runtime, lead: Lead, now: datetime) -> FeedbackRequest | None:
    """Start the cadence for a lead its owner just accepted (call in the accepting transaction).

    Cancels scheduled requests for any previous owner. Idempotent: a second call for the same owner
    returns the request already scheduled or sent.
    """
    if lead.owner_rep_id is None or lead.accepted_at is None:
        raise NotFound(f"lead {lead.id} has no accepted owner to ask for feedback")
    cancel_scheduled(session, lead, "lead was reassigned to another rep", now, keep_rep=lead.owner_rep_id)
    existing = session.scalars(select(FeedbackRequest).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == lead.owner_rep_id,
        FeedbackRequest.status.in_((FeedbackStatus.SCHEDULED, FeedbackStatus.SENT)))).first()
    if existing is not None:
        return existing
    spec = spec_for(rt, lead)
    timeline.record(session, lead.id, "feedback.cadence",
                    f"Feedback cadence: {cadence.describe(cadence.cadence_for(spec, lead.product), spec.until_level)}",
                    at=now)
    return schedule_next(session, rt, lead, now)
