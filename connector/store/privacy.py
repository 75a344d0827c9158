"""A person's data, found by e-mail address: exported as JSON, or erased everywhere Leadwire keeps it.

Erasure anonymises rather than deletes the leads, so that counts, speed-to-lead and outcomes stay right:
every personal field is cleared, raw inbox payloads that name the person are blanked, timeline messages
and data, e-mails about them and pending CRM writes are removed. What is left is an audit event per lead
("privacy.erased") holding only counts and a keyed hash of the address.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from connector.store import timeline
from connector.store.models import Email, FeedbackResponse, InboxItem, Lead, OutboxItem, TimelineEvent

ERASED = "(erased)"
PERSONAL = ("email", "phone", "first_name", "last_name", "title", "street", "city", "postal_code", "latitude",
            "longitude", "need", "crm_seen", "score_breakdown")


def _address(email: str) -> str:
    address = (email or "").strip().lower()
    if "@" not in address:
        raise ValueError(f"not an e-mail address: {email!r}")
    return address


def person_hash(email: str, key: str = "") -> str:
    """The keyed hash an audit record keeps instead of the address."""
    return hmac.new(key.encode(), _address(email).encode(), hashlib.sha256).hexdigest()[:32]


def _rows(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount  # an UPDATE's or DELETE's result is a CursorResult


def lead_ids(session: Session, email: str) -> list[int]:
    """Every lead with this e-mail address (case-insensitive)."""
    return list(session.scalars(select(Lead.id).where(func.lower(Lead.email) == _address(email)).order_by(Lead.id)))


def _inbox_rows(email: str, ids: list[int]) -> Any:
    lead_inbox = select(Lead.inbox_id).where(Lead.id.in_(ids), Lead.inbox_id.is_not(None))
    return or_(InboxItem.lead_id.in_(ids), InboxItem.id.in_(lead_inbox),
               func.lower(InboxItem.payload).contains(email, autoescape=True))


def export_person(session: Session, email: str) -> dict[str, Any]:
    """Everything held about the person: leads, raw payloads, timeline, e-mails, CRM writes, feedback."""
    address = _address(email)
    ids = lead_ids(session, address)
    leads = list(session.scalars(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id)))
    inbox = list(session.scalars(select(InboxItem).where(_inbox_rows(address, ids)).order_by(InboxItem.id)))
    events = list(session.scalars(select(TimelineEvent).where(TimelineEvent.lead_id.in_(ids))
                                  .order_by(TimelineEvent.id)))
    emails = list(session.scalars(select(Email).where(or_(Email.lead_id.in_(ids), func.lower(Email.to) == address))
                                  .order_by(Email.id)))
    writes = list(session.scalars(select(OutboxItem).where(OutboxItem.lead_id.in_(ids)).order_by(OutboxItem.id)))
    answers = list(session.scalars(select(FeedbackResponse).where(FeedbackResponse.lead_id.in_(ids))
                                   .order_by(FeedbackResponse.id)))

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "email": address,
        "leads": [{"id": lead.id, **lead.engine_fields(), "status": lead.status, "outcome": lead.outcome,
                   "score": lead.score, "mql_level": lead.mql_level, "flow": lead.flow,
                   "hubspot_id": lead.hubspot_id, "salesforce_id": lead.salesforce_id,
                   "captured_at": when(lead.captured_at), "crm_seen": lead.crm_seen} for lead in leads],
        "inbox": [{"id": row.id, "source": row.source, "channel": row.channel, "received_at": when(row.received_at),
                   "content_type": row.content_type, "payload": row.payload} for row in inbox],
        "timeline": [{"lead_id": e.lead_id, "at": when(e.at), "kind": e.kind, "message": e.message, "data": e.data}
                     for e in events],
        "emails": [{"id": m.id, "kind": m.kind, "to": m.to, "subject": m.subject, "status": m.status,
                    "created_at": when(m.created_at)} for m in emails],
        "crm_writes": [{"id": w.id, "crm": w.crm, "status": w.status, "fields": w.fields} for w in writes],
        "feedback": [{"lead_id": a.lead_id, "level": a.level, "pursuit_status": a.pursuit_status,
                      "outcome": a.outcome, "amount": a.amount, "received_at": when(a.received_at)} for a in answers],
    }


def erase_person(session: Session, email: str, now: datetime, *, key: str = "", by: str = "privacy") -> dict[str, int]:
    """Erase the person everywhere Leadwire keeps them; returns rows changed per table.

    Each erased lead keeps an audit event without personal data. CRM records are not touched here:
    the caller asks the CRMs to delete them (their ids are still on the leads, which are not personal).
    """
    address = _address(email)
    ids = lead_ids(session, address)
    counts = {"leads": len(ids)}
    counts["inbox"] = _rows(session.execute(update(InboxItem).where(_inbox_rows(address, ids))
                                      .values(payload=ERASED, record=None, errors=None)
                                      .execution_options(synchronize_session=False)))
    counts["timeline"] = _rows(session.execute(update(TimelineEvent).where(TimelineEvent.lead_id.in_(ids))
                                         .values(message=ERASED, data=None)
                                         .execution_options(synchronize_session=False)))
    counts["emails"] = _rows(session.execute(update(Email).where(or_(Email.lead_id.in_(ids),
                                                               func.lower(Email.to) == address))
                                       .values(to=ERASED, subject=ERASED, body_text=ERASED, body_html=None)
                                       .execution_options(synchronize_session=False)))
    counts["outbox"] = _rows(session.execute(delete(OutboxItem).where(OutboxItem.lead_id.in_(ids))
                                       .execution_options(synchronize_session=False)))
    counts["feedback"] = _rows(session.execute(update(FeedbackResponse).where(FeedbackResponse.lead_id.in_(ids))
                                         .values(lost_reason=None)
                                         .execution_options(synchronize_session=False)))
    blank: dict[str, Any] = dict.fromkeys(PERSONAL)
    session.execute(update(Lead).where(Lead.id.in_(ids)).values(**blank, attributes={}, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.expire_all()
    audit = {"person": person_hash(address, key), "by": by, **counts}
    for lead_id in ids:
        timeline.record(session, lead_id, "privacy.erased", "the person's data was erased on request", audit, at=now)
    return counts
