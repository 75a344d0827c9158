"""A person's data, found by e-mail address: exported as JSON, or erased everywhere Leadwire keeps it; and
a lead's consent: the steps its opt-out withholds.

Erasure anonymises rather than deletes the leads, so that counts, speed-to-lead and outcomes stay right:
every personal field is cleared (and with them the match index, which reads those columns), raw inbox
payloads and CRM records that name the person are blanked, timeline messages and data, e-mails about them
and pending CRM writes are removed. What is left is an audit row in privacy_log (and a "privacy.erased"
event per lead) holding only counts and a keyed hash of the address. The CRM records themselves are
deleted by the caller (sync/erasure.py queues "privacy.crm_delete" with the lead ids).
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Text, delete, exists, func, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from connector.flows.model import Spec
from connector.store import timeline
from connector.store.models import (
    Email,
    FeedbackResponse,
    InboxItem,
    Lead,
    OutboxItem,
    PrivacyRecord,
    TimelineEvent,
)

ERASED = "(erased)"
ERASED_KIND = "privacy.erased"  # the audit event on an erased lead's timeline: retention keeps it
WITHHELD_KIND = "consent.withheld"
PERSONAL = ("email", "phone", "first_name", "last_name", "title", "street", "city", "postal_code", "latitude",
            "longitude", "need", "crm_seen", "score_breakdown")
CRM_ID_COLUMNS = {"hubspot": "hubspot_id", "salesforce": "salesforce_id"}


def _address(email: str) -> str:
    address = (email or "").strip().lower()
    if "@" not in address or len(address) > 320:
        raise ValueError(f"not an e-mail address: {email!r}")
    return address


def person_hash(email: str, key: str = "") -> str:
    """The keyed hash an audit record keeps instead of the address."""
    return hmac.new(key.encode(), _address(email).encode(), hashlib.sha256).hexdigest()[:32]


def _rows(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount  # an UPDATE's or DELETE's result is a CursorResult


def _names(column: Any, address: str) -> Any:
    """The SQL test "this text (or JSON, as text) contains the address", ignoring case."""
    return func.lower(sql_cast(column, Text)).contains(address, autoescape=True)


def lead_ids(session: Session, email: str) -> list[int]:
    """Every lead with this e-mail address (case-insensitive)."""
    return list(session.scalars(select(Lead.id).where(func.lower(Lead.email) == _address(email)).order_by(Lead.id)))


def _inbox_rows(address: str | None, ids: list[int]) -> Any:
    lead_inbox = select(Lead.inbox_id).where(Lead.id.in_(ids), Lead.inbox_id.is_not(None))
    found = [InboxItem.lead_id.in_(ids), InboxItem.id.in_(lead_inbox)]
    if address:
        found += [_names(InboxItem.payload, address), _names(InboxItem.record, address)]
    return or_(*found)


def _timeline_rows(address: str | None, ids: list[int]) -> Any:
    found = [TimelineEvent.lead_id.in_(ids)]
    if address:
        found += [_names(TimelineEvent.message, address), _names(TimelineEvent.data, address)]
    return or_(*found) & (TimelineEvent.kind != ERASED_KIND)


def _email_rows(address: str | None, ids: list[int]) -> Any:
    found: list[Any] = [Email.lead_id.in_(ids)]
    if address:
        found += [func.lower(Email.to) == address, _names(Email.subject, address), _names(Email.body_text, address)]
    return or_(*found)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_person(session: Session, email: str) -> dict[str, Any]:
    """Everything held about the person: leads, raw payloads, timeline, e-mails, CRM writes, feedback."""
    address = _address(email)
    ids = lead_ids(session, address)
    leads = list(session.scalars(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id)))
    inbox = list(session.scalars(select(InboxItem).where(_inbox_rows(address, ids)).order_by(InboxItem.id)))
    events = list(session.scalars(select(TimelineEvent).where(_timeline_rows(address, ids)).order_by(TimelineEvent.id)))
    emails = list(session.scalars(select(Email).where(_email_rows(address, ids)).order_by(Email.id)))
    writes = list(session.scalars(select(OutboxItem).where(OutboxItem.lead_id.in_(ids)).order_by(OutboxItem.id)))
    answers = list(session.scalars(select(FeedbackResponse).where(FeedbackResponse.lead_id.in_(ids))
                                   .order_by(FeedbackResponse.id)))
    return {
        "email": address,
        "leads": [{"id": lead.id, **lead.engine_fields(), "status": lead.status, "outcome": lead.outcome,
                   "score": lead.score, "mql_level": lead.mql_level, "flow": lead.flow,
                   "hubspot_id": lead.hubspot_id, "salesforce_id": lead.salesforce_id,
                   "captured_at": _when(lead.captured_at), "crm_seen": lead.crm_seen} for lead in leads],
        "inbox": [{"id": row.id, "source": row.source, "channel": row.channel, "received_at": _when(row.received_at),
                   "content_type": row.content_type, "payload": row.payload, "record": row.record}
                  for row in inbox],
        "timeline": [{"lead_id": e.lead_id, "at": _when(e.at), "kind": e.kind, "message": e.message, "data": e.data}
                     for e in events],
        "emails": [{"id": m.id, "kind": m.kind, "to": m.to, "subject": m.subject, "body_text": m.body_text,
                    "status": m.status, "created_at": _when(m.created_at)} for m in emails],
        "crm_writes": [{"id": w.id, "crm": w.crm, "status": w.status, "fields": w.fields} for w in writes],
        "feedback": [{"lead_id": a.lead_id, "level": a.level, "pursuit_status": a.pursuit_status,
                      "outcome": a.outcome, "amount": a.amount, "lost_reason": a.lost_reason,
                      "received_at": _when(a.received_at)} for a in answers],
    }


def erase_leads(session: Session, ids: list[int], now: datetime, address: str | None = None) -> dict[str, int]:
    """Anonymise these leads (and, with `address`, every other row that names it); rows changed per table."""
    counts = {"leads": len(ids)}
    counts["inbox"] = _rows(session.execute(update(InboxItem).where(_inbox_rows(address, ids))
                                            .values(payload=ERASED, record=None, errors=None)
                                            .execution_options(synchronize_session=False)))
    counts["timeline"] = _rows(session.execute(update(TimelineEvent).where(_timeline_rows(address, ids))
                                               .values(message=ERASED, data=None)
                                               .execution_options(synchronize_session=False)))
    counts["emails"] = _rows(session.execute(update(Email).where(_email_rows(address, ids))
                                             .values(to=ERASED, subject=ERASED, body_text=ERASED, body_html=None,
                                                     last_error=None)
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
    return counts


def erase_person(session: Session, email: str, now: datetime, *, key: str = "", by: str = "privacy") -> dict[str, int]:
    """Erase the person everywhere Leadwire keeps them; returns rows changed per table.

    Leaves an audit row (privacy_log) and, on each erased lead, a "privacy.erased" event: counts and a
    keyed hash of the address, no personal data. The leads keep their CRM ids (see crm_records).
    """
    address = _address(email)
    ids = lead_ids(session, address)
    counts = erase_leads(session, ids, now, address)
    person = person_hash(address, key)
    audit = {"person": person, "by": by, **counts}
    for lead_id in ids:
        timeline.record(session, lead_id, ERASED_KIND, "the person's data was erased on request", audit, at=now)
    log(session, "erase", by, counts, now, person=person)
    return counts


def log(session: Session, action: str, by: str, counts: dict[str, int], now: datetime, *,
        person: str | None = None) -> None:
    """One row of the privacy audit trail in the caller's transaction."""
    session.add(PrivacyRecord(action=action, person=person, by=by[:128], counts=counts, at=now))


def crm_records(session: Session, ids: list[int]) -> dict[str, list[str]]:
    """The CRM record ids of these leads, per CRM (for a privacy deletion in the CRMs)."""
    out: dict[str, list[str]] = {}
    for crm, column in CRM_ID_COLUMNS.items():
        values = session.scalars(select(getattr(Lead, column)).where(Lead.id.in_(ids), getattr(Lead, column)
                                                                     .is_not(None)).distinct())
        if found := sorted(str(v) for v in values):
            out[crm] = found
    return out


def withheld(session: Session, spec: Spec, lead: Lead, step: str, now: datetime) -> bool:
    """True when the lead's person has opted out of `step` (flows.yaml consent:); the first time per step,
    says so on the lead's timeline."""
    if not spec.consent.withholds(step, lead.engine_fields()):
        return False
    said = exists().where(TimelineEvent.lead_id == lead.id, TimelineEvent.kind == WITHHELD_KIND,
                          TimelineEvent.message.contains(f"({step})"))
    if lead.id is not None and not session.scalar(select(said)):
        what = {"crm": "not written to the CRMs", "feedback": "no feedback e-mails about them"}.get(step, step)
        timeline.record(session, lead.id, WITHHELD_KIND, f"The person opted out: {what} ({step})",
                        {"step": step}, at=now)
    return True
