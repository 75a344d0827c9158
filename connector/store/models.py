"""The tables. The database is the source of truth; every timer is a timestamp column."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from connector.flows.model import LEAD_FIELDS
from connector.store.statuses import EmailStatus, FeedbackStatus, InboxStatus, LeadStatus, OfferStatus, OutboxStatus
from connector.store.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType(), list[Any]: JSONType()}


# Inbox channels of CRM deliveries (HubSpot webhook batches, Salesforce outbound messages): taken by sync's
# delivery jobs (sync/deliveries.py), never by capture.process
DELIVERY_CHANNELS = {"hubspot": "hubspot-delivery", "salesforce": "salesforce-delivery"}


class InboxItem(Base):
    """A raw inbound payload, committed before the sender gets its 2xx."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("source", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    # form | api | hubspot | salesforce | csv | hubspot-delivery | salesforce-delivery
    channel: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # the raw body as received
    content_type: Mapped[str] = mapped_column(String(64), default="application/json")
    record: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # CRM record fetched for a notification
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.RECEIVED, index=True)  # InboxStatus
    errors: Mapped[list[Any] | None] = mapped_column(default=None)
    lead_id: Mapped[int | None] = mapped_column(default=None)  # no FK: leads.inbox_id points here
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class Account(Base):
    """A company, known by its domain, so that its leads stay with one owner."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    owner_rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), default=None)
    owner_until: Mapped[datetime | None] = mapped_column(default=None)  # the owner holds the account until then
    created_at: Mapped[datetime]


class Lead(Base):
    """A person who raised a hand: canonical fields, custom attributes, external ids, decision."""

    __tablename__ = "leads"
    __table_args__ = (
        # analytics: accepted leads in id order (pursuit funnel, feedback compliance) without the heap
        Index("ix_leads_accepted", "id", postgresql_include=["status"], sqlite_where=text("accepted_at IS NOT NULL"),
              postgresql_where=text("accepted_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), unique=True, default=None)
    source: Mapped[str] = mapped_column(String(64), index=True)
    campaign: Mapped[str | None] = mapped_column(String(128), index=True, default=None)
    email: Mapped[str | None] = mapped_column(String(320), index=True, default=None)
    phone: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    first_name: Mapped[str | None] = mapped_column(String(128), default=None)
    last_name: Mapped[str | None] = mapped_column(String(128), default=None)
    company: Mapped[str | None] = mapped_column(String(255), default=None)
    # normalised for fuzzy matching
    company_key: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    company_domain: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    region: Mapped[str | None] = mapped_column(String(16), default=None)  # ISO 3166-2 subdivision
    city: Mapped[str | None] = mapped_column(String(128), default=None)
    postal_code: Mapped[str | None] = mapped_column(String(32), default=None)
    street: Mapped[str | None] = mapped_column(String(255), default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    product: Mapped[str | None] = mapped_column(String(64), default=None)
    budget: Mapped[str | None] = mapped_column(String(64), default=None)
    authority: Mapped[str | None] = mapped_column(String(64), default=None)
    need: Mapped[str | None] = mapped_column(String(255), default=None)
    timing: Mapped[str | None] = mapped_column(String(64), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    salesforce_id: Mapped[str | None] = mapped_column(String(18), index=True, default=None)
    hubspot_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    crm_seen: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # {crm: fields last read}: sync's baseline
    # the engine's decision
    flow: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)  # routed|nurture|rejected|duplicate
    status: Mapped[str] = mapped_column(String(16), default=LeadStatus.NEW, index=True)
    # LeadStatus: new|offered|accepted|escalated|nurture|rejected|duplicate|won|lost|closed
    score: Mapped[int | None] = mapped_column(default=None)
    mql_level: Mapped[int | None] = mapped_column(default=None)
    score_breakdown: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    nurture_stream: Mapped[str | None] = mapped_column(String(64), default=None)
    reject_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    team: Mapped[str | None] = mapped_column(String(64), index=True, default=None)  # analytics filter
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), default=None)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True, default=None)
    owner_rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), index=True, default=None)
    # speed to lead
    captured_at: Mapped[datetime] = mapped_column(index=True)
    first_offered_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    won_amount: Mapped[float | None] = mapped_column(Float, default=None)
    # offers: the ordered candidates and offer settings frozen at routing time (connector.offers)
    offer_plan: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # the lifecycle: timers the tick scans, the sibling a lead waits behind, the rules it was decided under
    rescore_at: Mapped[datetime | None] = mapped_column(index=True, default=None)  # decaying events: score again
    hold_until: Mapped[datetime | None] = mapped_column(index=True, default=None)  # outside hours: offer then
    linked_to_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True, default=None)
    decided_with: Mapped[str | None] = mapped_column(String(12), default=None)  # flows hash of the last decision
    updated_at: Mapped[datetime]

    def engine_fields(self) -> dict[str, Any]:
        """The lead's canonical fields (and source), as the engine takes a mapped payload."""
        fields = {name: getattr(self, name) for name in LEAD_FIELDS}
        fields["attributes"] = dict(self.attributes or {})
        fields["source"] = self.source
        return fields


class TimelineEvent(Base):
    """One thing that happened to a lead, with the reasons behind it."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_kind_at", "kind", "at"),)  # analytics: e.g. merged duplicates by time

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class Rep(Base):
    """A sales rep or partner user who can be offered leads."""

    __tablename__ = "reps"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    partner: Mapped[str | None] = mapped_column(String(128), default=None)  # partner organisation, if any
    manager_email: Mapped[str | None] = mapped_column(String(320), default=None)
    salesforce_user_id: Mapped[str | None] = mapped_column(String(18), default=None)
    hubspot_owner_id: Mapped[str | None] = mapped_column(String(32), default=None)
    countries: Mapped[list[Any]] = mapped_column(default=list)
    regions: Mapped[list[Any]] = mapped_column(default=list)
    postal_prefixes: Mapped[list[Any]] = mapped_column(default=list)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    radius_km: Mapped[float | None] = mapped_column(Float, default=None)
    products: Mapped[list[Any]] = mapped_column(default=list)
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    max_open_offers: Mapped[int] = mapped_column(default=5)
    max_open_leads: Mapped[int] = mapped_column(default=50)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)  # {"mon": ["09:00", "17:00"], ...}
    absent_from: Mapped[datetime | None] = mapped_column(default=None)
    absent_until: Mapped[datetime | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None] = mapped_column(default=None)  # invalidates routing snapshots


class RoutingCursor(Base):
    """Round-robin position per pool; updated under a row lock so concurrent workers stay fair."""

    __tablename__ = "routing_cursors"

    pool: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_rep_id: Mapped[int | None] = mapped_column(default=None)
    counter: Mapped[int] = mapped_column(default=0)
    state: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class Offer(Base):
    """A lead offered to one rep (exclusive) or to several at once (broadcast) until expires_at."""

    __tablename__ = "offers"
    __table_args__ = (
        # exactly one accepted offer per lead, on SQLite and PostgreSQL alike
        Index("uq_offers_one_accept", "lead_id", unique=True,
              sqlite_where=text("status = 'accepted'"), postgresql_where=text("status = 'accepted'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # exclusive | broadcast
    round: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.PENDING, index=True)
    # OfferStatus: pending|accepted|declined|expired|lost (another rep won)|withdrawn
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    decline_reason: Mapped[str | None] = mapped_column(String(255), default=None)


class FeedbackRequest(Base):
    """A request for pursuit feedback sent to the rep who owns a lead; due_at drives the cadence."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        # analytics: "was this lead asked for feedback?" as an index-only merge with leads
        Index("ix_feedback_requests_sent_lead", "lead_id", sqlite_where=text("sent_at IS NOT NULL"),
              postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id"), index=True)
    seq: Mapped[int] = mapped_column(default=1)
    due_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default=FeedbackStatus.SCHEDULED, index=True)
    # FeedbackStatus: scheduled|sent|answered|cancelled|escalated


class FeedbackResponse(Base):
    """What a rep reported about a lead: level 1 action, level 2 status, level 3 won/lost."""

    __tablename__ = "feedback_responses"
    __table_args__ = (
        # analytics: highest level / contact per lead, read in lead order without touching the table
        Index("ix_feedback_responses_lead_level", "lead_id", "level", postgresql_include=["contacted", "action"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), default=None)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_requests.id"), default=None)
    level: Mapped[int]  # highest level this response reached (1..3)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    contacted: Mapped[bool | None] = mapped_column(Boolean, default=None)
    action: Mapped[str | None] = mapped_column(String(16), default=None)  # call|email|visit
    action_at: Mapped[datetime | None] = mapped_column(default=None)
    pursuit_status: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str | None] = mapped_column(String(8), default=None)  # won|lost
    amount: Mapped[float | None] = mapped_column(Float, default=None)
    close_date: Mapped[datetime | None] = mapped_column(default=None)
    lost_reason: Mapped[str | None] = mapped_column(String(128), default=None)
    via: Mapped[str] = mapped_column(String(16), default="form")  # form|email|crm
    received_at: Mapped[datetime] = mapped_column(index=True)


class OutboxItem(Base):
    """A change for a CRM, written in the same transaction as the change itself."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(16))  # hubspot | salesforce
    object: Mapped[str] = mapped_column(String(32))  # contact | Lead
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True, default=None)
    record_id: Mapped[str | None] = mapped_column(String(64), default=None)  # CRM id when known
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING, index=True)  # OutboxStatus
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class SyncCursor(Base):
    """A watermark for pulling changes from a CRM (e.g. Salesforce SystemModstamp)."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(255), default=None)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)


class SeenEvent(Base):
    """Ids of inbound CRM events already taken in (HubSpot eventId, Salesforce Notification Id)."""

    __tablename__ = "seen_events"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime]


class Email(Base):
    """An outgoing e-mail; sending is a job with retries, and a failure stays visible here."""

    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # offer|feedback|escalation|...
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True, default=None)
    status: Mapped[str] = mapped_column(String(16), default=EmailStatus.QUEUED, index=True)  # EmailStatus
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class PrivacyRecord(Base):
    """The audit trail of data protection: an erasure, an export or a retention purge, without personal
    data (the person as a keyed hash of their e-mail address, the rows touched per table)."""

    __tablename__ = "privacy_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(16))  # erase | export | purge
    person: Mapped[str | None] = mapped_column(String(64), index=True, default=None)  # store/privacy.person_hash
    by: Mapped[str] = mapped_column(String(128))  # who asked: "cli", "api", "hubspot privacy deletion", "retention"
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(index=True)
