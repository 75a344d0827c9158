"""A lead's timeline: what happened and why, in order."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.clock import utcnow
from connector.store.models import TimelineEvent


def record(session: Session, lead_id: int, kind: str, message: str, data: dict[str, Any] | None = None,
           at: datetime | None = None) -> TimelineEvent:
    """Add one entry to a lead's timeline in the caller's transaction."""
    event = TimelineEvent(lead_id=lead_id, kind=kind, message=message, data=data, at=at or utcnow())
    session.add(event)
    return event


def events(session: Session, lead_id: int) -> list[TimelineEvent]:
    """A lead's timeline, oldest first."""
    return list(session.scalars(select(TimelineEvent).where(TimelineEvent.lead_id == lead_id)
                                .order_by(TimelineEvent.at, TimelineEvent.id)))
