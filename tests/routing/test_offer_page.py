"""The no-login offer page: preview, time left, accept / decline once, stale and tampered links."""
from datetime import timedelta

from connector.jobs.tick import run_tick
from connector.routing import offers
from tests.support.routing import NA_REPS, add_reps, capture, lead_of, offers_of


def _link_path(smtp, n=1):
    mails = smtp[1].wait_for(n)
    url = smtp[1].links(mails[n - 1], "/o/")[0]
    return url[url.index("/o/"):]


def _lead(rt):
    add_reps(rt, *NA_REPS)
    return capture(rt, email="jo@acme.example", phone="+14155550100", first_name="Jo", last_name="Park",
                   company="Acme", country="US", city="Oakland", campaign="seq")


def test_page_shows_the_preview_without_contact_and_the_time_left(routing_rt, smtp, clock, client_for):
    _lead(routing_rt)
    client = client_for(routing_rt)
    path = _link_path(smtp)
    clock.advance(minutes=1, seconds=30)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Acme" in html and "Oakland" in html and "Time left: 3 min 30 s" in html
    assert "jo@acme.example" not in html and "555" not in html and "Park" not in html
    assert "<script" not in html and 'name="viewport"' in html


def test_accept_reveals_the_contact_and_the_link_works_once(routing_rt, smtp, client_for):
    lead_id = _lead(routing_rt)
    client = client_for(routing_rt)
    path = _link_path(smtp)
    answer = client.post(f"{path}/accept")
    assert answer.status_code == 303
    page = client.get(path).get_data(as_text=True)
    assert "You accepted this lead" in page and "jo@acme.example" in page and "+14155550100" in page
    again = client.post(f"{path}/accept")
    assert again.status_code == 409 and "already answered" in again.get_data(as_text=True)
    assert client.post(f"{path}/decline").status_code == 409
    assert lead_of(routing_rt, lead_id).status == "accepted"


def test_decline_with_a_reason_then_the_link_says_so(routing_rt, smtp, client_for):
    lead_id = _lead(routing_rt)
    client = client_for(routing_rt)
    path = _link_path(smtp)
    assert client.post(f"{path}/decline", data={"reason": "outside my area"}).status_code == 303
    assert "You declined this lead" in client.get(path).get_data(as_text=True)
    first = offers_of(routing_rt, lead_id)[0]
    assert (first.status, first.decline_reason) == ("declined", "outside my area")


def test_a_link_to_an_offer_someone_else_won_says_so(routing_rt, smtp, client_for):
    add_reps(routing_rt, {"email": "p1@a.example", "team": "partners"}, {"email": "p2@b.example", "team": "partners"})
    lead_id = capture(routing_rt, email="jo@acme.example", country="US", campaign="bcast")
    client = client_for(routing_rt)
    loser = _link_path(smtp, 2)
    winner = offers_of(routing_rt, lead_id)[0]
    if f"/o/{offers.token_for(routing_rt, winner)}" == loser:
        winner = offers_of(routing_rt, lead_id)[1]
    offers.accept(routing_rt, winner.id)
    html = client.get(loser).get_data(as_text=True)
    assert "gone to someone else" in html and "Accept this lead" not in html
    late = client.post(f"{loser}/accept")
    assert late.status_code == 409 and "gone to someone else" in late.get_data(as_text=True)


def test_an_expired_link_says_it_expired_and_cannot_be_accepted(routing_rt, smtp, clock, client_for):
    lead_id = _lead(routing_rt)
    client = client_for(routing_rt)
    path = _link_path(smtp)
    clock.advance(minutes=5, seconds=1)
    assert "has expired" in client.get(path).get_data(as_text=True)
    assert client.post(f"{path}/accept").status_code == 410
    run_tick(routing_rt)
    assert "has expired" in client.get(path).get_data(as_text=True)
    assert lead_of(routing_rt, lead_id).owner_rep_id is None


def test_a_tampered_or_forged_link_is_refused(routing_rt, smtp, client_for):
    from connector.core.tokens import Tokens

    lead_id = _lead(routing_rt)
    client = client_for(routing_rt)
    path = _link_path(smtp)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    page = client.get(tampered)
    assert page.status_code == 400 and "not valid" in page.get_data(as_text=True)
    assert client.post(f"{tampered}/accept").status_code == 400
    offer = offers_of(routing_rt, lead_id)[0]
    forged = Tokens("another-secret-0123456789").make("offer", offer.id, expires_at=offer.expires_at + timedelta(days=1))
    assert client.post(f"/o/{forged}/accept").status_code == 400
    feedback_token = Tokens(routing_rt.settings.secret_key).make("feedback", offer.id, expires_at=offer.expires_at)
    assert client.post(f"/o/{feedback_token}/accept").status_code == 400
    assert lead_of(routing_rt, lead_id).status == "offered"
