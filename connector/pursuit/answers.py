"""Feedback answers (form, e-mail one-click, or a status changed in the CRM) and what they do.

Answers are stored as `feedback_responses`, applied to the lead (won/lost, un-convert to nurture) and
written to the CRM through the outbox, all in the caller's transaction.
"""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import cadence, pursuit
from connector.flows.model import FeedbackSpec
from connector.flows.pursuit import Answers
from connector.pursuit.links import QUICK_ACTIONS, Opened
from connector.pursuit.schedule import CLOSED, OPEN, cancel_scheduled, highest_level, history, spec_for
from connector.store import timeline
from connector.store.models import FeedbackRequest, FeedbackResponse, Lead
from connector.store.statuses import FeedbackStatus, LeadStatus
from connector.store.writeback import enqueue_lead_write

log = logging.getLogger(__name__)


CRMS = ("hubspot", "salesforce")


def _at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(12, 0), tzinfo=UTC) if day else None


def crm_fields(spec: FeedbackSpec, answers: Answers, lead: Lead, crm: str) -> dict[str, Any]:
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
        lead.status, lead.nurture_stream = LeadStatus.NURTURE, spec.lost_to_nurture
        timeline.record(session, lead.id, "feedback.unconverted",
                        f"Lost lead back in nurture stream {spec.lost_to_nurture!r}; its history is kept",
                        {"stream": spec.lost_to_nurture}, at=now)


def record(session: Session, rt: Runtime, lead: Lead, rep_id: int | None, answers: Answers, now: datetime, *,
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
        .values(status=FeedbackStatus.ANSWERED, answered_at=now))
    state = "complete" if answers.complete else f"partial, still missing {', '.join(answers.missing)}"
    timeline.record(session, lead.id, "feedback.received",
                    f"Level {answers.level} ({cadence.LEVEL_NAMES[answers.level]}) feedback via {via}: {state}",
                    {**answers.as_dict(), "level": answers.level, "complete": answers.complete,
                     "missing": list(answers.missing), "request_id": response.request_id}, at=now)
    _apply_outcome(session, spec, lead, answers, now)
    lead.updated_at = now
    session.flush()
    if via != "crm":
        for crm in CRMS:
            enqueue_lead_write(session, rt, lead, crm_fields(spec, answers, lead, crm), crms=(crm,))
    reached = highest_level(session, lead)
    if lead.status in CLOSED:
        cancel_scheduled(session, lead, f"lead is closed ({lead.status})", now)
    elif reached >= spec.until_level:
        cancel_scheduled(session, lead, f"level {reached} received; the flow asks until level {spec.until_level}", now)
    return response


def answer(session: Session, rt: Runtime, opened: Opened, form: dict[str, Any], now: datetime, *,
           via: str = "form") -> FeedbackResponse:
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


def from_crm(session: Session, rt: Runtime, lead: Lead, status: str, now: datetime) -> FeedbackResponse | None:
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
