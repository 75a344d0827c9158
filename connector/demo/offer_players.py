"""Demo stage: reps answer offer e-mails on a simulated clock — some accept, some decline, some let
offers expire — until every routed lead is accepted or escalated (a lead held outside working hours is
offered when the clock reaches its hold_until)."""
from __future__ import annotations

import re
import statistics
import time
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select

from connector.core.clock import FakeClock
from connector.core.errors import TokenError
from connector.core.runtime import Runtime
from connector.demo.mailbox import Mailbox
from connector.jobs.backends import ThreadQueue
from connector.jobs.tick import run_tick
from connector.routing import offer_view, offers
from connector.store.models import Email, Lead, Offer
from connector.store.statuses import EmailStatus, LeadStatus, OfferStatus


class Persona(NamedTuple):
    """What a rep does with an offer: "accept" or "decline" (with a reason) `after` seconds, or "ignore" it."""

    action: str
    after: int = 0
    reason: str | None = None


# Chosen by rep id; "ignore" lets the offer expire. Deterministic, so the demo tells the same story each run.
PERSONAS = (
    Persona("accept", 75),
    Persona("decline", 40, "outside my patch this week"),
    Persona("accept", 190),
    Persona("ignore"),
    Persona("accept", 30),
    Persona("decline", 120, "too small for us"),
    Persona("accept", 420),
)
LINK = re.compile(r"https?://\S+/o/([A-Za-z0-9_.\-]+)")
MAX_STEPS = 10_000


def _texts(mailbox: Mailbox | None, rt: Runtime) -> list[str]:
    """Offer e-mail bodies: from the SMTP server's messages, or the outbox table without one."""
    if mailbox is None:
        with rt.db.session() as s:
            return list(s.scalars(select(Email.body_text).where(Email.kind == "offer").order_by(Email.id)))
    return [mailbox.text(msg) for msg in list(mailbox.messages)]


def _wait_sent(rt: Runtime, timeout: float = 20.0) -> None:
    """Until no offer e-mail is still queued for its first attempt (background senders)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(rt.queue, ThreadQueue):
            rt.queue.wait_idle(timeout=1)
        with rt.db.session() as s:
            queued = s.scalar(select(func.count()).select_from(Email).where(
                Email.kind == "offer", Email.status == EmailStatus.QUEUED, Email.attempts == 0))
        if not queued:
            return
        time.sleep(0.05)


def _schedule(rt: Runtime, text: str, now: datetime, plan: dict[int, tuple[datetime, Persona]]) -> None:
    match = LINK.search(text)
    if not match:
        return
    try:
        oid = offer_view.offer_id(rt, match.group(1), now)
    except TokenError:
        return
    if oid in plan:
        return
    with rt.db.session() as s:
        offer = s.get(Offer, oid)
    if offer is None:
        return
    persona = PERSONAS[offer.rep_id % len(PERSONAS)]
    if persona.action != "ignore":
        plan[oid] = (offer.offered_at + timedelta(seconds=persona.after), persona)


def play_offers(rt: Runtime, clock: FakeClock, mailbox: Mailbox | None = None) -> dict[str, Any]:
    """Play the reps until no offer is pending; returns {offers, accepted, declined, expired, escalated,
    median_seconds_to_accept}. The clock jumps to the next answer or expiry; the tick runs each time.
    Offer links are read from `mailbox` (the SMTP server), or from the outbox table without one."""
    plan: dict[int, tuple[datetime, Persona]] = {}
    done: set[int] = set()
    seen = 0
    for _ in range(MAX_STEPS):
        _wait_sent(rt)
        texts = _texts(mailbox, rt)
        for text in texts[seen:]:
            _schedule(rt, text, clock.now(), plan)
        seen = len(texts)
        with rt.db.session() as s:
            next_expiry = s.scalar(select(func.min(Offer.expires_at)).where(Offer.status == OfferStatus.PENDING))
            next_hold = s.scalar(select(func.min(Lead.hold_until)).where(Lead.status == LeadStatus.HELD))
        due = [at for oid, (at, _) in plan.items() if oid not in done]
        if next_expiry is None and next_hold is None:  # held leads are offered when the rep's day starts
            break
        when = min([at for at in (next_expiry, next_hold) if at is not None] + due)
        if when > clock.now():
            clock.set(when)
        for oid, (at, persona) in sorted(plan.items(), key=lambda kv: kv[1][0]):
            if oid in done or at > clock.now():
                continue
            done.add(oid)
            if persona.action == "accept":
                offers.accept(rt, oid, now=clock.now())
            else:
                offers.decline(rt, oid, reason=persona.reason, now=clock.now())
        run_tick(rt, clock.now())
    return summary(rt)


def summary(rt: Runtime) -> dict[str, Any]:
    """Offer figures for the demo's summary."""
    with rt.db.session() as s:
        by_status = {status: n for status, n in s.execute(select(Offer.status, func.count()).group_by(Offer.status))}
        escalated = s.scalar(select(func.count()).select_from(Lead).where(Lead.status == LeadStatus.ESCALATED))
        waits = [(accepted - captured).total_seconds() for captured, accepted in s.execute(
            select(Lead.captured_at, Lead.accepted_at).where(Lead.accepted_at.is_not(None))) if accepted is not None]
    return {"offers": sum(by_status.values()), "accepted": by_status.get(OfferStatus.ACCEPTED, 0),
            "declined": by_status.get(OfferStatus.DECLINED, 0), "expired": by_status.get(OfferStatus.EXPIRED, 0),
            "escalated": escalated, "median_seconds_to_accept": statistics.median(waits) if waits else None}
