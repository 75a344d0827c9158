"""The no-login links of feedback requests: a token per request, and opening one.

A token has purpose "feedback", the request id and nonce "<lead id>:<rep id>", and is valid for
LINK_VALIDITY after sending. An older request's link keeps working while it is valid: the form always
shows and updates the lead's current answers, and says that a newer request exists.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.clock import as_utc
from connector.core.errors import NotFound, TokenError
from connector.core.runtime import Runtime
from connector.core.tokens import Tokens
from connector.flows import pursuit
from connector.flows.model import FeedbackSpec
from connector.flows.pursuit import Answers
from connector.pursuit.schedule import history, spec_for
from connector.store.models import FeedbackRequest, Lead, Rep

log = logging.getLogger(__name__)


LINK_VALIDITY = timedelta(days=45)
QUICK_ACTIONS = {"call": "called", "email": "e-mailed", "visit": "visited", "not_yet": "not contacted yet"}


def _tokens(rt: Runtime) -> Tokens:
    return Tokens(rt.settings.secret_key)


def sent_at(request: FeedbackRequest) -> datetime:
    """When a sent request went out (aware UTC); ValueError for a request not sent yet."""
    at = as_utc(request.sent_at)
    if at is None:
        raise ValueError(f"feedback request {request.id} has not been sent")
    return at


def link(rt: Runtime, request: FeedbackRequest, suffix: str = "") -> str:
    """The no-login URL of a sent request's form (or of a one-click action when `suffix` is given)."""
    base = (rt.settings.public_url or rt.settings.base_url).rstrip("/")
    token = _tokens(rt).make("feedback", request.id, expires_at=sent_at(request) + LINK_VALIDITY,
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


def open_request(session: Session, rt: Runtime, token: str, now: datetime) -> Opened:
    """Check a link and load its request; raise TokenError saying clearly why a link cannot be used."""
    request_id, nonce = _tokens(rt).read(token, "feedback", now=now)
    request = session.get(FeedbackRequest, request_id)
    if request is None or nonce != f"{request.lead_id}:{request.rep_id}":
        raise TokenError("this link does not belong to this lead")
    lead, rep = session.get(Lead, request.lead_id), session.get(Rep, request.rep_id)
    if lead is None or rep is None:  # foreign keys keep both while the request exists
        raise NotFound(f"feedback request {request.id} names no lead {request.lead_id} or no rep {request.rep_id}")
    if lead.owner_rep_id != request.rep_id:
        raise TokenError("this lead has been reassigned to another rep: no feedback is needed from you")
    newer = session.scalars(select(FeedbackRequest).where(
        FeedbackRequest.lead_id == lead.id, FeedbackRequest.rep_id == request.rep_id,
        FeedbackRequest.seq > request.seq, FeedbackRequest.sent_at.is_not(None))
        .order_by(FeedbackRequest.seq.desc())).first()
    return Opened(request, lead, rep, spec_for(rt, lead),
                  pursuit.merged(history(session, lead.id, request.rep_id)), newer)
