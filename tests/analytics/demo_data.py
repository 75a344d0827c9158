"""A demo-sized, deterministic data set (a month of leads with offers and feedback) for the browser test."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from connector.store import Database
from connector.store.models import FeedbackRequest, FeedbackResponse, Lead, Offer, Rep, TimelineEvent

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
PROGRAMS = [("website", "spring-webinar"), ("website", "pricing-page"), ("hubspot", "ebook"),
            ("salesforce", "trade-show"), ("csv", None)]
REPS = [("Ana Alder", "emea", None), ("Ben Birch", "emea", "Acme Partners"), ("Cy Cedar", "na", "Acme Partners"),
        ("Dee Dogwood", "na", None), ("Eli Elm", "apac", "Bolt Resellers"), ("Fay Fir", "apac", None)]


def populate(db: Database, leads: int = 240, seed: int = 7) -> None:
    """Insert reps and `leads` leads over 28 days, with offers, feedback requests/responses and timelines."""
    rnd = random.Random(seed)
    m = timedelta(minutes=1)
    with db.session() as s:
        reps = [Rep(email=f"{n.split()[0].lower()}@example.com", name=n, team=t, partner=p, created_at=START)
                for n, t, p in REPS]
        s.add_all(reps)
        s.flush()
        for i in range(leads):
            at = START + timedelta(days=rnd.randrange(28), minutes=rnd.randrange(600))
            source, campaign = rnd.choice(PROGRAMS)
            owner = rnd.choice(reps)
            lead = Lead(source=source, campaign=campaign, captured_at=at, updated_at=at, first_name=f"Pat{i}",
                        last_name="Buyer", email=f"pat{i}@buyer{i % 37}.example", company=f"Buyer {i % 37} GmbH",
                        flow="partner" if owner.partner else "inbound", team=owner.team,
                        mql_level=rnd.choice([1, 1, 2, 2, 2, 3]), score=rnd.randrange(20, 95))
            roll = rnd.random()
            if roll < 0.12:
                lead.outcome, lead.status, lead.mql_level = "rejected", "rejected", None
                lead.reject_reason = rnd.choice(["spam", "no email", "competitor"])
            elif roll < 0.2:
                lead.outcome, lead.status = "duplicate", "duplicate"
            elif roll < 0.28:
                lead.outcome, lead.status = "nurture", "nurture"
            else:
                lead.outcome = "routed"
                _route(s, rnd, lead, owner, reps, m)
            s.add(lead)
            s.flush()
            s.add(TimelineEvent(lead_id=lead.id, at=at, kind="captured", message=f"Captured from {source}"))
            if lead.accepted_at:
                _feedback(s, rnd, lead, owner)


def _route(s, rnd, lead: Lead, owner: Rep, reps: list[Rep], m: timedelta) -> None:
    """Offer the lead: escalated (10%), still waiting (6%), or accepted by `owner` and maybe closed."""
    lead.first_offered_at = lead.captured_at + m * rnd.randrange(1, 30)
    fate = rnd.random()
    if fate < 0.1:
        lead.status = "escalated"
    elif fate < 0.16:
        lead.status = "offered"
    else:
        lead.owner_rep_id = owner.id
        lead.accepted_at = lead.first_offered_at + m * rnd.randrange(2, 240)
        closing = rnd.random()
        lead.status = "won" if closing < 0.3 else ("lost" if closing < 0.5 else "accepted")
        if lead.status in ("won", "lost"):
            lead.closed_at = lead.accepted_at + timedelta(days=rnd.randrange(3, 60))
        if lead.status == "won":
            lead.won_amount = float(rnd.randrange(5, 80) * 500)
    s.add(lead)
    s.flush()
    if rnd.random() < 0.3:  # another rep was offered it first and declined or let it expire
        other = rnd.choice([r for r in reps if r.id != owner.id])
        s.add(Offer(lead_id=lead.id, rep_id=other.id, mode="exclusive", offered_at=lead.first_offered_at,
                    expires_at=lead.first_offered_at + 60 * m, status=rnd.choice(["declined", "expired"]),
                    responded_at=lead.first_offered_at + m * 5))
    status = {"escalated": "expired", "offered": "pending"}.get(lead.status, "accepted")
    s.add(Offer(lead_id=lead.id, rep_id=owner.id, mode="exclusive", offered_at=lead.first_offered_at,
                expires_at=lead.first_offered_at + 60 * m, status=status, responded_at=lead.accepted_at))


def _feedback(s, rnd, lead: Lead, owner: Rep) -> None:
    due = lead.accepted_at + timedelta(days=2)
    answered = rnd.random() < 0.7
    req = FeedbackRequest(lead_id=lead.id, rep_id=owner.id, due_at=due, sent_at=due,
                          answered_at=due + timedelta(hours=5) if answered else None,
                          status="answered" if answered else "sent")
    s.add(req)
    s.flush()
    if answered or lead.status in ("won", "lost"):
        level = 3 if lead.status in ("won", "lost") else rnd.choice([1, 2])
        s.add(FeedbackResponse(lead_id=lead.id, rep_id=owner.id, request_id=req.id, level=level, contacted=True,
                               action="call", pursuit_status="in discussion" if level >= 2 else None,
                               outcome=lead.status if level == 3 else None, received_at=due + timedelta(hours=5)))
