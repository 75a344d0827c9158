"""The closed vocabularies of the `status` columns. Columns stay strings (no migration); a StrEnum
member equals its value, so `lead.status == LeadStatus.WON` holds for a row read back as "won"."""
from __future__ import annotations

from enum import StrEnum


class InboxStatus(StrEnum):
    """An inbox row: received, then processed into a lead, rejected (invalid), or failed (gave up)."""

    RECEIVED = "received"
    PROCESSED = "processed"
    REJECTED = "rejected"
    FAILED = "failed"


class LeadStatus(StrEnum):
    """Where a lead stands, from capture to a closed pursuit."""

    NEW = "new"
    NURTURE = "nurture"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    HELD = "held"  # routed outside every eligible rep's working hours: offered when the first one's day starts
    WON = "won"
    LOST = "lost"
    CLOSED = "closed"


class OfferStatus(StrEnum):
    """An offer to one rep: pending until accepted, declined, expired, lost (another rep took the lead)
    or withdrawn (the lead was closed)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    LOST = "lost"
    WITHDRAWN = "withdrawn"


class FeedbackStatus(StrEnum):
    """A feedback request: scheduled, sent, then answered, escalated (overdue) or cancelled."""

    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERED = "answered"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    """A CRM write: pending (retrying while last_error is set), sent, parked (refused) or superseded."""

    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"
    SUPERSEDED = "superseded"


class EmailStatus(StrEnum):
    """An e-mail: queued (retrying while last_error is set), sent, or failed (gave up)."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
