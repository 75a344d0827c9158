"""A small hand-checkable data set: 3 reps, 12 leads, 10 offers, 5 feedback requests, 4 responses.

Every expected figure in test_measures.py is worked out by hand from the table below.
Captured days (UTC): Jan 5: L1 L2 · Jan 6: L3 L4 · Jan 7: L5 L6 L7 · Jan 8: L8 L9 L10 · Jan 9: L11 L12.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.store import Database
from connector.store.models import FeedbackRequest, FeedbackResponse, Lead, Offer, Rep, TimelineEvent

DAY1 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)
D = timedelta(days=1)


def seed(db: Database) -> dict[str, int]:
    """Insert the data set; return {"ana": id, "ben": id, "cy": id, "L1": id, ...}."""
    ids: dict[str, int] = {}
    with db.session() as s:
        reps = {
            "ana": Rep(email="ana@example.com", name="Ana Alder", team="emea", created_at=DAY1),
            "ben": Rep(email="ben@acme.example", name="Ben Birch", team="emea", partner="Acme Partners", created_at=DAY1),
            "cy": Rep(email="cy@acme.example", name="Cy Cedar", team="na", partner="Acme Partners", created_at=DAY1),
        }
        s.add_all(reps.values())
        s.flush()
        ids.update({k: r.id for k, r in reps.items()})
        ana, ben, cy = reps["ana"].id, reps["ben"].id, reps["cy"].id

        def lead(key, at, **kw):
            kw.setdefault("source", "web")
            row = Lead(captured_at=at, updated_at=at, email=f"{key.lower()}@buyer.example",
                       first_name=key, last_name="Buyer", company=f"{key} Corp", **kw)
            s.add(row)
            s.flush()
            ids[key] = row.id
            return row

        routed = dict(campaign="spring", flow="inbound", team="emea", outcome="routed")
        c1, c2, c3, c4 = DAY1, DAY1 + 60 * M, DAY1 + D, DAY1 + D + 120 * M
        c5, c6, c7 = DAY1 + 2 * D, DAY1 + 2 * D + 60 * M, DAY1 + 2 * D + 180 * M
        l1 = lead("L1", c1, **routed, status="won", mql_level=3, owner_rep_id=ana, first_offered_at=c1 + 2 * M,
                  accepted_at=c1 + 12 * M, closed_at=c1 + 10 * D, won_amount=1000.0)
        l2 = lead("L2", c2, **routed, status="lost", mql_level=2, owner_rep_id=ana, first_offered_at=c2 + 4 * M,
                  accepted_at=c2 + 34 * M, closed_at=c2 + 20 * D)
        l3 = lead("L3", c3, **routed, status="accepted", mql_level=2, owner_rep_id=ben, first_offered_at=c3 + 6 * M,
                  accepted_at=c3 + 26 * M)
        l4 = lead("L4", c4, **{**routed, "campaign": None}, status="escalated", mql_level=1, first_offered_at=c4 + 8 * M)
        partner_flow = dict(source="hubspot", campaign="fall", flow="partner", team="na", outcome="routed")
        l5 = lead("L5", c5, **partner_flow, status="won", mql_level=3, owner_rep_id=cy, first_offered_at=c5 + 10 * M,
                  accepted_at=c5 + 70 * M, closed_at=c5 + 30 * D, won_amount=500.0)
        l6 = lead("L6", c6, **partner_flow, status="offered", mql_level=1, first_offered_at=c6 + 20 * M)
        lead("L7", c7, source="hubspot", campaign="fall", outcome="rejected", status="rejected", reject_reason="spam")
        lead("L8", DAY1 + 3 * D, campaign="spring", flow="inbound", outcome="rejected", status="rejected",
             reject_reason="spam")
        lead("L9", DAY1 + 3 * D + M, campaign="spring", flow="inbound", outcome="rejected", status="rejected",
             reject_reason="no email")
        lead("L10", DAY1 + 3 * D + 2 * M, **{**routed, "outcome": "duplicate"}, status="duplicate", mql_level=3,
             duplicate_of_id=l1.id)
        lead("L11", DAY1 + 4 * D, source="csv", flow="nurture", outcome="nurture", status="nurture", mql_level=1)
        lead("L12", DAY1 + 4 * D + M, **routed, status="new", mql_level=2)

        def offer(lead_row, rep, at, status, responded=None, mode="exclusive"):
            s.add(Offer(lead_id=lead_row.id, rep_id=rep, mode=mode, offered_at=at, expires_at=at + 60 * M,
                        status=status, responded_at=responded))

        offer(l1, ben, c1 + 2 * M, "declined", c1 + 5 * M)      # o1: Ben answered in 3 min
        offer(l1, ana, c1 + 5 * M, "accepted", c1 + 12 * M)     # o2: Ana answered in 7 min
        offer(l2, ana, c2 + 4 * M, "accepted", c2 + 34 * M)     # o3: Ana answered in 30 min
        offer(l3, ana, c3 + 6 * M, "expired")                   # o4
        offer(l3, ben, c3 + 16 * M, "accepted", c3 + 26 * M)    # o5: Ben answered in 10 min
        offer(l4, ana, c4 + 8 * M, "expired")                   # o6
        offer(l4, ben, c4 + 68 * M, "expired")                  # o7
        offer(l5, cy, c5 + 10 * M, "accepted", c5 + 70 * M, mode="broadcast")  # o8: Cy answered in 60 min
        offer(l5, ben, c5 + 10 * M, "lost", mode="broadcast")   # o9
        offer(l6, cy, c6 + 20 * M, "pending")                   # o10

        def request(lead_row, rep, sent=True, answered=False):
            row = FeedbackRequest(lead_id=lead_row.id, rep_id=rep, due_at=lead_row.accepted_at + D,
                                  sent_at=lead_row.accepted_at + D if sent else None,
                                  answered_at=lead_row.accepted_at + 2 * D if answered else None,
                                  status="answered" if answered else ("sent" if sent else "scheduled"))
            s.add(row)
            s.flush()
            return row.id

        q1, q2 = request(l1, ana, answered=True), request(l2, ana, answered=True)
        request(l3, ben)
        request(l3, ben, sent=False)
        q5 = request(l5, cy, answered=True)
        s.add_all([
            FeedbackResponse(lead_id=l1.id, rep_id=ana, request_id=q1, level=1, contacted=True, action="call",
                             received_at=c1 + 2 * D),
            FeedbackResponse(lead_id=l1.id, rep_id=ana, level=3, complete=True, pursuit_status="negotiation",
                             outcome="won", amount=1000.0, received_at=c1 + 10 * D),
            FeedbackResponse(lead_id=l2.id, rep_id=ana, request_id=q2, level=2, contacted=True,
                             pursuit_status="in discussion", received_at=c2 + 2 * D),
            FeedbackResponse(lead_id=l5.id, rep_id=cy, request_id=q5, level=1, contacted=True, action="email",
                             received_at=c5 + 2 * D),
        ])
        s.add_all([
            TimelineEvent(lead_id=l1.id, at=c1, kind="captured", message="Captured from web form"),
            TimelineEvent(lead_id=l1.id, at=c1 + M, kind="scored", message="Scored 82: MQL level 3",
                          data={"breakdown": {"title": 30, "country": 20}}),
            TimelineEvent(lead_id=l1.id, at=c1 + 2 * M, kind="routed", message="Offered to Ben Birch",
                          data={"reasons": ["Cy Cedar passed over: territory NA only"]}),
            # L1's person submitted the web form again on Jan 8: merged into L1, not stored
            TimelineEvent(lead_id=l1.id, at=c1 + 3 * D, kind="duplicate", message="Matched again by email"),
        ])
    return ids
