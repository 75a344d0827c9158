"""Sequential exclusive offers on the fake clock: window, decline → next rep, expiry → next, escalation."""
from datetime import timedelta

from connector import offers
from connector.jobs.tick import run_tick
from tests.routing.conftest import NA_REPS, add_reps, capture, lead_of, offers_of


def test_a_routed_lead_is_offered_to_one_rep_for_five_minutes_and_emailed(routing_rt, smtp, clock):
    ids = add_reps(routing_rt, *NA_REPS)
    lead_id = capture(routing_rt, email="jo@acme.example", company="Acme", country="US", campaign="seq")
    [offer] = offers_of(routing_rt, lead_id)
    assert offer.status == "pending" and offer.mode == "exclusive"
    assert offer.rep_id in {ids["ann@na.example"], ids["bob@na.example"], ids["cy@na.example"]}
    assert offer.expires_at - offer.offered_at == timedelta(minutes=5)
    lead = lead_of(routing_rt, lead_id)
    assert lead.status == "offered" and lead.first_offered_at == clock.now()
    [mail] = smtp[1].wait_for(1)
    assert "/o/" in smtp[1].text(mail) and "jo@acme.example" not in smtp[1].text(mail)
