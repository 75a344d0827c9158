"""Sequential exclusive offers on the fake clock: window, decline → next rep, expiry → next, escalation."""
from datetime import timedelta

from connector.jobs.tick import run_tick
from connector.routing import offers
from tests.support.routing import AUTH, NA_REPS, add_reps, capture, lead_of, offers_of


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


def _three_na(rt):
    return add_reps(rt, *NA_REPS)


def test_decline_moves_the_lead_to_the_next_rep_at_once(routing_rt, smtp, clock):
    _three_na(routing_rt)
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    first = offers_of(routing_rt, lead_id)[0]
    clock.advance(seconds=40)
    assert offers.decline(routing_rt, first.id, reason="  not my industry ").status == "declined"
    first_after, second = offers_of(routing_rt, lead_id)
    assert first_after.status == "declined" and first_after.decline_reason == "not my industry"
    assert second.status == "pending" and second.rep_id != first.rep_id and second.offered_at == clock.now()
    assert offers.decline(routing_rt, first.id).status == "answered"     # works once


def test_an_unanswered_offer_expires_on_the_tick_and_goes_to_the_next_rep(routing_rt, clock):
    _three_na(routing_rt)
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    clock.advance(minutes=4, seconds=59)
    assert run_tick(routing_rt)["offers.expire_step"] == 0
    assert [o.status for o in offers_of(routing_rt, lead_id)] == ["pending"]
    clock.advance(seconds=1)
    assert run_tick(routing_rt)["offers.expire_step"] == 1
    assert [o.status for o in offers_of(routing_rt, lead_id)] == ["expired", "pending"]
    assert offers.accept(routing_rt, offers_of(routing_rt, lead_id)[0].id).status == "expired"


def test_an_offer_past_its_window_cannot_be_accepted_even_before_the_tick(routing_rt, clock):
    _three_na(routing_rt)
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    clock.advance(minutes=5)
    assert offers.accept(routing_rt, offers_of(routing_rt, lead_id)[0].id).status == "expired"
    assert lead_of(routing_rt, lead_id).owner_rep_id is None


def test_accept_assigns_the_lead_and_records_speed_to_lead(routing_rt, clock, client_for):
    ids = _three_na(routing_rt)
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    offer = offers_of(routing_rt, lead_id)[0]
    clock.advance(seconds=95)
    assert offers.accept(routing_rt, offer.id).status == "accepted"
    lead = lead_of(routing_rt, lead_id)
    assert (lead.status, lead.owner_rep_id) == ("accepted", offer.rep_id)
    assert offer.rep_id in ids.values()
    body = client_for(routing_rt).get(f"/api/leads/{lead_id}", headers=AUTH).get_json()
    assert body["seconds_to_offer"] == 0 and body["seconds_to_accept"] == 95
    assert body["first_offered_at"] and body["accepted_at"] and body["captured_at"]
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds.index("offered") < kinds.index("accepted") < kinds.index("feedback.cadence")  # feedback starts
    assert offers.accept(routing_rt, offer.id).status == "answered"


def test_all_reps_refusing_escalates_to_the_manager_and_the_unassigned_queue(routing_rt, smtp, clock, client_for):
    _three_na(routing_rt)
    lead_id = capture(routing_rt, email="jo@acme.example", company="Acme", country="US", campaign="seq")
    offers.decline(routing_rt, offers_of(routing_rt, lead_id)[0].id, reason="busy")
    clock.advance(minutes=5)
    run_tick(routing_rt)                                         # the second expires
    offers.decline(routing_rt, offers_of(routing_rt, lead_id)[2].id)
    assert [o.status for o in offers_of(routing_rt, lead_id)] == ["declined", "expired", "declined"]
    lead = lead_of(routing_rt, lead_id)
    assert lead.status == "escalated" and lead.owner_rep_id is None
    mails = smtp[1].wait_for(4)
    [escalation] = smtp[1].to("sales-manager@example.com")
    assert "Unassigned lead" in escalation["Subject"] and "busy" in smtp[1].text(escalation)
    assert len(mails) == 4                                       # three offers, one escalation
    queue = client_for(routing_rt).get("/api/queue/unassigned", headers=AUTH).get_json()
    assert [(i["id"], i["queue"]) for i in queue["items"]] == [(lead_id, "na-unassigned")]
    body = client_for(routing_rt).get(f"/api/leads/{lead_id}", headers=AUTH).get_json()
    assert body["timeline"][-1]["kind"] == "escalated"


def test_max_offers_caps_the_sequence(routing_rt, clock):
    add_reps(routing_rt, *NA_REPS, *[{"email": f"x{i}@na.example", "team": "na", "countries": ["US"]} for i in range(3)])
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    for _ in range(3):
        offers.decline(routing_rt, offers_of(routing_rt, lead_id)[-1].id)
    assert len(offers_of(routing_rt, lead_id)) == 3                # six eligible, max_offers: 3
    assert lead_of(routing_rt, lead_id).status == "escalated"


def test_a_lead_nobody_can_take_is_escalated_at_once(routing_rt):
    add_reps(routing_rt, {"email": "dee@na.example", "team": "na", "countries": ["CA"]})
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    assert offers_of(routing_rt, lead_id) == []
    assert lead_of(routing_rt, lead_id).status == "escalated"


def test_an_absent_rep_is_skipped_when_their_turn_comes(routing_rt, clock):
    from connector.store.models import Rep

    ids = _three_na(routing_rt)
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="seq")
    first = offers_of(routing_rt, lead_id)[0]
    plan = lead_of(routing_rt, lead_id).offer_plan["candidates"]
    with routing_rt.db.session() as s:             # the next rep leaves on holiday meanwhile
        s.get(Rep, plan[1]).absent_from = clock.now()
    offers.decline(routing_rt, first.id)
    assert offers_of(routing_rt, lead_id)[-1].rep_id == plan[2]
    assert set(plan) == {ids["ann@na.example"], ids["bob@na.example"], ids["cy@na.example"]}


PARTNERS = [
    {"email": "p1@alpha.example", "name": "Alpha One", "team": "partners", "partner": "Alpha", "preferred": True},
    {"email": "p2@beta.example", "name": "Beta Two", "team": "partners", "partner": "Beta"},
    {"email": "p3@gamma.example", "name": "Gamma Three", "team": "partners", "partner": "Gamma", "preferred": True},
    {"email": "p4@delta.example", "name": "Delta Four", "team": "partners", "partner": "Delta"},
]


def test_broadcast_offers_all_competing_partners_and_the_first_accept_wins(routing_rt, smtp, clock):
    add_reps(routing_rt, *PARTNERS)
    lead_id = capture(routing_rt, email="jo@acme.example", phone="+1 415 555 0100", country="US", campaign="bcast")
    made = offers_of(routing_rt, lead_id)
    assert len(made) == 4 and {o.mode for o in made} == {"broadcast"}
    assert {o.expires_at - o.offered_at for o in made} == {timedelta(minutes=10)}
    mails = smtp[1].wait_for(4)
    assert "first to accept" in mails[0]["Subject"] and "+1 415 555 0100" in smtp[1].text(mails[0])  # contact shown
    clock.advance(seconds=30)
    assert offers.accept(routing_rt, made[2].id).status == "accepted"
    assert offers.accept(routing_rt, made[0].id).status == "taken"
    assert offers.decline(routing_rt, made[1].id).status == "taken"
    assert [o.status for o in offers_of(routing_rt, lead_id)] == ["lost", "lost", "accepted", "lost"]


def test_sequential_then_broadcast_offers_preferred_partners_in_turn_then_everyone_else(routing_rt, clock):
    ids = add_reps(routing_rt, *PARTNERS)
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="mixed")
    first = offers_of(routing_rt, lead_id)
    assert [o.rep_id for o in first] in ([ids["p1@alpha.example"]], [ids["p3@gamma.example"]])  # a preferred one
    clock.advance(minutes=5)
    run_tick(routing_rt)
    second = offers_of(routing_rt, lead_id)[1:]
    assert len(second) == 1 and second[0].mode == "exclusive"
    assert {first[0].rep_id, second[0].rep_id} == {ids["p1@alpha.example"], ids["p3@gamma.example"]}
    offers.decline(routing_rt, second[0].id)
    third = offers_of(routing_rt, lead_id)[2:]
    assert {o.rep_id for o in third} == {ids["p2@beta.example"], ids["p4@delta.example"]}
    assert {o.mode for o in third} == {"broadcast"}


def test_a_lead_of_an_owned_account_goes_to_the_owner_first(routing_rt, clock):
    from connector.store.models import Account

    ids = _three_na(routing_rt)
    with routing_rt.db.session() as s:
        s.add(Account(domain="acme.example", name="Acme", owner_rep_id=ids["cy@na.example"], created_at=clock.now()))
    for i in range(3):
        lead_id = capture(routing_rt, email=f"p{i}@acme.example", company="Acme", country="US", campaign="owner")
        assert offers_of(routing_rt, lead_id)[0].rep_id == ids["cy@na.example"]
