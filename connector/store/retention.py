"""The retention purge (flows.yaml `retention:`): each kind of personal data older than its age is
blanked, deleted or anonymised, at most BATCH rows of each kind per tick, so a first run over years of
data never holds a long transaction. Each run that touched rows leaves a privacy_log row with the counts."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from connector.core.runtime import Runtime
from connector.flows.model import Retention
from connector.store import privacy
from connector.store.models import Email, InboxItem, Lead, TimelineEvent
from connector.store.statuses import EmailStatus, InboxStatus, LeadStatus

BATCH = 1000
PURGED = "(purged)"
CLOSED = (LeadStatus.WON, LeadStatus.LOST, LeadStatus.CLOSED, LeadStatus.REJECTED, LeadStatus.DUPLICATE)
REFUSED = (InboxStatus.REJECTED, InboxStatus.FAILED)


def _ids(session: Session, query: Any) -> list[int]:
    return list(session.scalars(query.limit(BATCH)))


def _inbox_payloads(session: Session, before: datetime, now: datetime) -> int:
    ids = _ids(session, select(InboxItem.id).where(InboxItem.status == InboxStatus.PROCESSED,
                                                   InboxItem.received_at < before,
                                                   InboxItem.payload.not_in((PURGED, privacy.ERASED))))
    session.execute(update(InboxItem).where(InboxItem.id.in_(ids)).values(payload=PURGED, record=None)
                    .execution_options(synchronize_session=False))
    return len(ids)


def _rejected_payloads(session: Session, before: datetime, now: datetime) -> int:
    ids = _ids(session, select(InboxItem.id).where(InboxItem.status.in_(REFUSED), InboxItem.received_at < before,
                                                   InboxItem.lead_id.is_(None)))
    session.execute(delete(InboxItem).where(InboxItem.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)


def _timelines(session: Session, before: datetime, now: datetime) -> int:
    ids = _ids(session, select(TimelineEvent.id).where(TimelineEvent.at < before,
                                                       TimelineEvent.kind != privacy.ERASED_KIND))
    session.execute(delete(TimelineEvent).where(TimelineEvent.id.in_(ids))
                    .execution_options(synchronize_session=False))
    return len(ids)


def _emails(session: Session, before: datetime, now: datetime) -> int:
    ids = _ids(session, select(Email.id).where(Email.created_at < before, Email.status != EmailStatus.QUEUED))
    session.execute(delete(Email).where(Email.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)


def _closed_leads(session: Session, before: datetime, now: datetime) -> int:
    ids = _ids(session, select(Lead.id).where(Lead.status.in_(CLOSED),
                                              func.coalesce(Lead.closed_at, Lead.updated_at) < before,
                                              Lead.email.is_not(None) | Lead.phone.is_not(None)
                                              | Lead.last_name.is_not(None)).order_by(Lead.id))
    if ids:
        privacy.erase_leads(session, ids, now)
    return len(ids)


PURGES: dict[str, Callable[[Session, datetime, datetime], int]] = {
    "inbox_payloads": _inbox_payloads,
    "rejected_payloads": _rejected_payloads,
    "timelines": _timelines,
    "emails": _emails,
    "closed_leads": _closed_leads,
}


def purge(session: Session, retention: Retention, now: datetime) -> dict[str, int]:
    """One bounded pass of every kind that has an age: rows purged per kind (only kinds that purged)."""
    done: dict[str, int] = {}
    ages: dict[str, timedelta] = retention.ages()
    for kind, age in ages.items():
        if count := PURGES[kind](session, now - age, now):
            done[kind] = count
    if done:
        privacy.log(session, "purge", "retention", done, now)
    return done


def purge_due(rt: Runtime, now: datetime) -> int:
    """The tick step: one bounded purge as of `now`; returns the rows purged."""
    if not rt.spec.retention.ages():
        return 0
    with rt.db.session() as s:
        return sum(purge(s, rt.spec.retention, now).values())
