"""The demo stage plays reps from the received e-mails until every routed lead is accepted or escalated."""
from collections import Counter

from sqlalchemy import select

from connector.demo.offer_players import play_offers
from connector.store.models import Lead
from tests.support.routing import NA_REPS, add_reps, capture


def test_play_offers_accepts_declines_and_lets_offers_expire(routing_rt, smtp, clock):
    add_reps(routing_rt, *NA_REPS, {"email": "eve@na.example", "team": "na", "countries": ["US"]},
             {"email": "fay@na.example", "team": "na", "countries": ["US"]})
    for i in range(8):
        capture(routing_rt, email=f"lead{i}@c{i}.example", country="US", campaign="seq")
    got = play_offers(routing_rt, clock, smtp[1])
    with routing_rt.db.session() as s:
        statuses = Counter(s.scalars(select(Lead.status)))
    assert statuses["offered"] == 0 and statuses["accepted"] + statuses["escalated"] == 8
    assert got["accepted"] == statuses["accepted"] >= 1 and got["escalated"] == statuses["escalated"]
    assert got["declined"] >= 1 and got["expired"] >= 1
    assert got["offers"] == got["accepted"] + got["declined"] + got["expired"]
    assert got["median_seconds_to_accept"] > 0
    assert len(smtp[1].messages) >= got["offers"]
