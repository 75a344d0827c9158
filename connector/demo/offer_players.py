"""Demo stage: reps answer offer e-mails on a simulated clock — some accept, some decline, some let
offers expire — until every routed lead is accepted or escalated."""
from __future__ import annotations

import re
import statistics
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select

from connector.core.errors import TokenError
from connector.jobs.tick import run_tick
from connector.routing import offer_view, offers
from connector.store.models import Email, Lead, Offer

# What a rep does with an offer, by rep id: ("accept", seconds after the offer), ("decline", seconds,
# reason) or ("ignore",) to let it expire. Deterministic, so the demo tells the same story each run.
PERSONAS = (
    ("accept", 75),
    ("decline", 40, "outside my patch this week"),
    ("accept", 190),
    ("ignore",),
    ("accept", 30),
    ("decline", 120, "too small for us"),
    ("accept", 420),
)
LINK = re.compile(r"https?://\S+/o/([A-Za-z0-9_.\-]+)")
MAX_STEPS = 10_000


def _texts(smtp_inbox, rt) -> list[str]:
    """Offer e-mail bodies: from the SMTP server's messages, or the outbox table without one."""
    if smtp_inbox is None:
        with rt.db.session() as s:
            return list(s.scalars(select(Email.body_text).where(Email.kind == "offer").order_by(Email.id)))
    out = []
    for msg in list(getattr(smtp_inbox, "messages", smtp_inbox)):
        if hasattr(msg, "get_body"):
            msg = msg.get_body(preferencelist=("plain",)).get_content()
        out.append(msg.decode() if isinstance(msg, bytes) else str(msg))
    return out


def _wait_sent(rt, timeout: float = 20.0) -> None:
    """Until no offer e-mail is still queued for its first attempt (background senders)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hasattr(rt.queue, "wait_idle"):
            rt.queue.wait_idle(timeout=1)
        with rt.db.session() as s:
            queued = s.scalar(select(func.count()).select_from(Email).where(
                Email.kind == "offer", Email.status == "queued", Email.attempts == 0))
        if not queued:
            return
        time.sleep(0.05)


def _schedule(rt, text: str, now: datetime, plan: dict[int, tuple]) -> None:
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
    persona = PERSONAS[offer.rep_id % len(PERSONAS)]
    if persona[0] != "ignore":
        plan[oid] = (offer.offered_at + timedelta(seconds=persona[1]), persona)


def play_offers(rt, clock, smtp_inbox=None) -> dict:
    """Play the reps until no offer is pending; returns {offers, accepted, declined, expired, escalated,
    median_seconds_to_accept}. The clock jumps to the next answer or expiry; the tick runs each time."""
    plan: dict[int, tuple] = {}
    done: set[int] = set()
    seen = 0
    for _ in range(MAX_STEPS):
        _wait_sent(rt)
        texts = _texts(smtp_inbox, rt)
        for text in texts[seen:]:
            _schedule(rt, text, clock.now(), plan)
        seen = len(texts)
        with rt.db.session() as s:
            next_expiry = s.scalar(select(func.min(Offer.expires_at)).where(Offer.status == "pending"))
        due = [at for oid, (at, _) in plan.items() if oid not in done]
        if next_expiry is None:
            break
        when = min([next_expiry, *due])
        if when > clock.now():
            clock.set(when)
        for oid, (at, persona) in sorted(plan.items(), key=lambda kv: kv[1][0]):
            if oid in done or at > clock.now():
                continue
            done.add(oid)
            if persona[0] == "accept":
                offers.accept(rt, oid, now=clock.now())
            else:
                offers.decline(rt, oid, reason=persona[2], now=clock.now())
        run_tick(rt, clock.now())
    return summary(rt)


def summary(rt) -> dict:
    """Offer figures for the demo's summary."""
    with rt.db.session() as s:
        by_status = dict(s.execute(select(Offer.status, func.count()).group_by(Offer.status)).all())
        escalated = s.scalar(select(func.count()).select_from(Lead).where(Lead.status == "escalated"))
        waits = [(a - c).total_seconds() for c, a in s.execute(
            select(Lead.captured_at, Lead.accepted_at).where(Lead.accepted_at.is_not(None)))]
    return {"offers": sum(by_status.values()), "accepted": by_status.get("accepted", 0),
            "declined": by_status.get("declined", 0), "expired": by_status.get("expired", 0),
            "escalated": escalated, "median_seconds_to_accept": statistics.median(waits) if waits else None}
