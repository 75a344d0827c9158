"""RevOps' manual actions on a lead — assign, reoffer, reroute, reopen — through the API, the CLI and the
dashboard: each names who acted on the timeline, queues the CRM write, and answers bad requests with a
clear 4xx (exit 1 on the CLI), never a 500."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from connector.cli import cli
from connector.routing import offers as offers_uc
from connector.store.models import FeedbackRequest
from connector.store.statuses import FeedbackStatus, LeadStatus, OfferStatus
from tests.support import lifecycle_actions as h


@pytest.fixture
def rt(make_runtime, db_url):
    """SQLite or PostgreSQL, inline jobs, the fake clock and the lifecycle test flows, with the test reps."""
    runtime = make_runtime(db_url, LEADWIRE_FLOWS=str(h.FLOWS), LEADWIRE_ADMIN_PASSWORD=h.PASSWORD)
    runtime.extras["reps"] = h.add_reps(runtime)
    return runtime


@pytest.fixture
def api(rt, client_for):
    return client_for(rt)


@pytest.fixture
def client_for():
    from connector.web import create_app

    return lambda runtime: create_app(runtime=runtime).test_client()


def _requests(rt, lead_id):
    with rt.db.session() as s:
        return [(r.rep_id, r.status) for r in s.scalars(select(FeedbackRequest).where(FeedbackRequest.lead_id == lead_id)
                                                         .order_by(FeedbackRequest.id))]


# ---- assign ---------------------------------------------------------------------------------------

def test_api_assign_makes_the_rep_owner_as_an_accept_would(rt, api):
    reps = rt.extras["reps"]
    lead_id = h.capture(rt, "direct", "jo@acme.example")
    [offer] = h.offers(rt, lead_id)
    assert offer.rep_id == reps["Ann"] and offer.status == OfferStatus.PENDING

    resp = api.post(f"/api/leads/{lead_id}/assign", json={"rep_email": "Bob@NA.example", "by": "jane@revops"},
                    headers=h.AUTH)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"action": "assign", "lead_id": lead_id, "status": "accepted",
                               "message": f"lead {lead_id} assigned to Bob", "offers": []}
    lead = h.lead(rt, lead_id)
    assert (lead.status, lead.owner_rep_id, lead.accepted_at) == ("accepted", reps["Bob"], rt.clock.now())
    assert [o.status for o in h.offers(rt, lead_id)] == [OfferStatus.WITHDRAWN]
    [assigned] = h.events(rt, lead_id, "assigned")
    assert assigned.message == "Assigned to Bob by jane@revops"
    assert assigned.data["by"] == "jane@revops" and assigned.data["withdrawn_offers"] == [offer.id]
    assert _requests(rt, lead_id) == [(reps["Bob"], FeedbackStatus.SCHEDULED)]
    offered, row = h.outbox(rt, lead_id)  # the offered state when routed, then the assignment
    assert offered.fields["leadwire_status"] == "offered"
    assert row.crm == "hubspot" and row.fields["hubspot_owner_id"] == "7002"


def test_api_assign_by_rep_id_reassigns_an_accepted_lead_and_stops_the_old_owners_requests(rt, api):
    reps = rt.extras["reps"]
    lead_id = h.capture(rt, "direct", "jo@acme.example")
    [offer] = h.offers(rt, lead_id)
    assert offers_uc.accept(rt, offer.id).status == "accepted"
    assert _requests(rt, lead_id) == [(reps["Ann"], FeedbackStatus.SCHEDULED)]

    resp = api.post(f"/api/leads/{lead_id}/assign", json={"rep_id": reps["Bob"]}, headers=h.AUTH)
    assert resp.status_code == 200
    assert resp.get_json()["message"] == f"lead {lead_id} assigned to Bob (was Ann's)"
    assert h.lead(rt, lead_id).owner_rep_id == reps["Bob"]
    assert h.events(rt, lead_id, "assigned")[0].message == "Assigned to Bob by api (was Ann's)"
    assert _requests(rt, lead_id) == [(reps["Ann"], FeedbackStatus.CANCELLED), (reps["Bob"], FeedbackStatus.SCHEDULED)]
    assert h.outbox(rt, lead_id)[-1].fields["hubspot_owner_id"] == "7002"


# ---- reoffer --------------------------------------------------------------------------------------

def test_api_reoffer_starts_the_stored_plan_again_with_a_fresh_budget(rt, api):
    reps = rt.extras["reps"]
    lead_id = h.capture(rt, "direct", "jo@acme.example")
    for _ in range(2):  # Ann, then Bob, let the offer expire: nobody is left, the lead is escalated
        rt.clock.advance(minutes=5)
        offers_uc.expire_step(rt, rt.clock.now())
    assert h.lead(rt, lead_id).status == LeadStatus.ESCALATED

    resp = api.post(f"/api/leads/{lead_id}/reoffer", json={"by": "jane"}, headers=h.AUTH)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "offered" and body["message"] == f"lead {lead_id} offered to 1 rep"
    made = h.offers(rt, lead_id)
    assert [(o.rep_id, o.status, o.round) for o in made] == [
        (reps["Ann"], "expired", 1), (reps["Bob"], "expired", 2), (reps["Ann"], "pending", 3)]
    assert body["offers"] == [made[-1].id]
    assert h.events(rt, lead_id, "reoffered")[0].message == "Offer plan started again by jane"
    assert h.outbox(rt, lead_id), "the CRM write of the reoffered lead is queued"

    again = api.post(f"/api/leads/{lead_id}/reoffer", headers=h.AUTH)  # no body: by defaults to "api"
    assert again.status_code == 200
    assert [o.status for o in h.offers(rt, lead_id)][-2:] == [OfferStatus.WITHDRAWN, OfferStatus.PENDING]
    assert h.events(rt, lead_id, "reoffered")[-1].data["by"] == "api"


# ---- reroute --------------------------------------------------------------------------------------

def test_api_reroute_decides_again_under_the_current_flows_and_offers_like_a_new_lead(rt, make_runtime, db_url,
                                                                                     client_for):
    lead_id = h.capture(rt, "grow", "gus@acme.example")
    assert h.lead(rt, lead_id).status == LeadStatus.NURTURE
    changed = make_runtime(db_url, LEADWIRE_FLOWS=str(h.VARIANT))  # flows.yaml changed: grow is routed now
    written = len(h.outbox(rt, lead_id))  # a nurtured lead is written to the CRM when captured

    resp = client_for(changed).post(f"/api/leads/{lead_id}/reroute", json={"by": "ops"}, headers=h.AUTH)
    assert resp.status_code == 200, resp.get_json()
    lead = h.lead(rt, lead_id)
    assert (lead.status, lead.outcome, lead.flow, lead.team) == ("offered", "routed", "direct", "na")
    assert lead.decided_with == changed.spec.hash != rt.spec.hash
    [offer] = h.offers(rt, lead_id)
    assert resp.get_json()["offers"] == [offer.id]
    [event] = h.events(rt, lead_id, "rerouted")
    assert event.message == "Rerouted by ops: routed, by flow direct, score 0"
    assert event.data["before"]["outcome"] == "nurture" and event.data["flows_hash"] == changed.spec.hash
    row = h.outbox(rt, lead_id)[written:][-1]  # its offered state is written too, then the reroute
    assert row.fields["leadwire_outcome"] == "routed"


# ---- reopen ---------------------------------------------------------------------------------------

def test_api_reopen_a_won_lead_into_a_nurture_stream(rt, api):
    lead_id = h.capture(rt, "direct", "wyn@acme.example")
    h.close(rt, lead_id, LeadStatus.WON, amount=12000.0)

    resp = api.post(f"/api/leads/{lead_id}/reopen", json={"to": "nurture", "stream": "webinar", "by": "kim"},
                    headers=h.AUTH)
    assert resp.status_code == 200, resp.get_json()
    lead = h.lead(rt, lead_id)
    assert (lead.status, lead.outcome, lead.nurture_stream, lead.closed_at, lead.won_amount) == (
        "nurture", "nurture", "webinar", None, None)
    [event] = h.events(rt, lead_id, "reopened")
    assert event.message == "Reopened by kim: won lead back in nurture stream 'webinar'; its history is kept"
    assert event.data["won_amount"] == 12000.0 and event.data["closed_at"].startswith("2026-01-20")
    row = h.outbox(rt, lead_id)[-1]  # after the writes of the lead's earlier states
    assert row.fields["leadwire_nurture_stream"] == "webinar" and row.fields["leadwire_outcome"] == "nurture"


def test_api_reopen_a_lost_lead_defaults_to_the_flows_stream_and_into_routing_offers_it(rt, api):
    lost = h.capture(rt, "direct", "lou@acme.example")
    h.close(rt, lost, LeadStatus.LOST)
    assert api.post(f"/api/leads/{lost}/reopen", json={"to": "nurture"}, headers=h.AUTH).status_code == 200
    assert h.lead(rt, lost).nurture_stream == "revival"  # the flow's lost_to_nurture

    won = h.capture(rt, "direct", "ron@acme.example")
    [offer] = h.offers(rt, won)
    offers_uc.accept(rt, offer.id)
    h.close(rt, won, LeadStatus.WON, amount=500.0)
    resp = api.post(f"/api/leads/{won}/reopen", json={"to": "routing"}, headers=h.AUTH)
    assert resp.status_code == 200, resp.get_json()
    lead = h.lead(rt, won)
    assert (lead.status, lead.owner_rep_id, lead.won_amount) == ("offered", None, None)
    assert [e.kind for e in h.events(rt, won)][-3:] == ["reopened", "rerouted", "offered"]
    assert h.events(rt, won, "reopened")[0].data["by"] == "api"


# ---- bad requests ---------------------------------------------------------------------------------

NO_ROUTE = ("The requested URL was not found on the server. If you entered the URL manually please check your "
            "spelling and try again.")
BAD = [  # (lead, action, body, status, error) — lead: "offered", "won", "nurture" or a missing id
    ("missing", "assign", {"rep_email": "bob@na.example"}, 404, "no lead 999"),
    ("offered", "assign", {"rep_id": 999}, 404, "no rep 999"),
    ("offered", "assign", {"rep_email": "nobody@na.example"}, 404, "no rep with e-mail 'nobody@na.example'"),
    ("offered", "assign", {"rep_email": "old@na.example"}, 409, "rep 4 (Old) is inactive: activate them or assign "
                                                                 "another rep"),
    ("offered", "assign", {}, 400, "say which rep: give rep_id (a number) or rep_email"),
    ("offered", "assign", {"rep_id": "2"}, 400, "rep_id must be a whole number, not '2'"),
    ("offered", "assign", ["bob"], 400, 'the body must be a JSON object, e.g. {"by": "jane@revops"}'),
    ("offered", "assign", {"rep_id": 2, "by": 7}, 400, "by must be text of 1 to 64 characters"),
    ("offered", "assign", {"rep_id": 2, "by": "x" * 65}, 400, "by must be text of 1 to 64 characters"),
    ("won", "assign", {"rep_id": 2}, 409, "lead {id} is won: reopen it first"),
    ("won", "reoffer", {}, 409, "lead {id} is won: reopen it first"),
    ("won", "reroute", {}, 409, "lead {id} is won: reopen it first"),
    ("nurture", "reoffer", {}, 409, "lead {id} is nurture, not waiting for an owner: reroute it or assign it to a rep"),
    ("offered", "reopen", {"to": "nurture"}, 409, "lead {id} is offered, not won, lost or closed: assign, reoffer or "
                                                  "reroute it instead"),
    ("won", "reopen", {}, 400, "to must be one of nurture, routing"),
    ("won", "reopen", {"to": "limbo"}, 400, "to must be one of nurture, routing, not 'limbo'"),
    ("won", "reopen", {"to": "nurture", "stream": "nope"}, 400, "no nurture stream 'nope' in flows.yaml; use one of "
                                                                "mainline, revival, webinar"),
    ("won", "reopen", {"to": "routing", "stream": "webinar"}, 400, "a stream is only for reopening to nurture"),
    ("missing", "reroute", {}, 404, "no lead 999"),
    ("huge", "reopen", {"to": "nurture"}, 404, NO_ROUTE),  # beyond any id the column holds: no route matches
    ("offered", "assign", {"rep_id": 2**40}, 404, "no rep 1099511627776"),
]


@pytest.mark.parametrize("state, action, body, status, error", BAD,
                         ids=[f"{a}-{s}-{e[:28]}" for s, a, _, _, e in BAD])
def test_api_bad_requests_get_a_clear_4xx_and_change_nothing(rt, api, state, action, body, status, error):
    ids = {"offered": h.capture(rt, "direct", "o@acme.example"), "nurture": h.capture(rt, "grow", "n@acme.example"),
           "won": h.capture(rt, "direct", "w@acme.example"), "missing": 999, "huge": 2**40}
    h.close(rt, ids["won"], LeadStatus.WON)
    before = h.snapshot(rt)
    resp = api.post(f"/api/leads/{ids[state]}/{action}", json=body, headers=h.AUTH)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.get_json()["error"] == error.replace("{id}", str(ids[state]))
    assert h.snapshot(rt) == before


def test_api_actions_need_the_api_key(rt, api):
    lead_id = h.capture(rt, "direct", "jo@acme.example")
    resp = api.post(f"/api/leads/{lead_id}/assign", json={"rep_id": rt.extras["reps"]["Bob"]})
    assert resp.status_code == 401 and h.lead(rt, lead_id).status == LeadStatus.OFFERED


# ---- the CLI --------------------------------------------------------------------------------------

def _cli(db_url, *args):
    return CliRunner().invoke(cli, ["leads", *args], env=h.env(db_url))


def test_cli_runs_each_action_and_names_who_did_it(rt, db_url):
    lead_id = h.capture(rt, "direct", "cli@acme.example")
    done = _cli(db_url, "assign", str(lead_id), "--rep", "bob@na.example", "--by", "jane")
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"lead {lead_id} assigned to Bob"
    assert h.events(rt, lead_id, "assigned")[0].message == "Assigned to Bob by jane"
    assert h.outbox(rt, lead_id)[-1].fields["hubspot_owner_id"] == "7002"

    h.close(rt, lead_id, LeadStatus.LOST)
    done = _cli(db_url, "reopen", str(lead_id), "--to", "nurture", "--stream", "webinar")
    assert done.exit_code == 0 and "reopened into nurture stream 'webinar'" in done.output
    assert h.events(rt, lead_id, "reopened")[0].data["by"] == "cli"

    done = _cli(db_url, "reroute", str(lead_id), "--by", "ops")
    assert done.exit_code == 0 and f"lead {lead_id} offered to 1 rep" in done.output
    assert h.lead(rt, lead_id).status == LeadStatus.OFFERED

    done = _cli(db_url, "reoffer", str(lead_id), "--by", "ops")
    assert done.exit_code == 0, done.output
    assert [o.status for o in h.offers(rt, lead_id)][-2:] == [OfferStatus.WITHDRAWN, OfferStatus.PENDING]
    assert [e.data["by"] for e in h.events(rt, lead_id) if e.kind in ("rerouted", "reoffered")] == ["ops", "ops"]


@pytest.mark.parametrize("args, code, message", [
    (["assign", "{won}", "--rep", "bob@na.example"], 1, "error: lead {won} is won: reopen it first"),
    (["assign", "{won}", "--rep", "nobody@na.example"], 1, "error: no rep with e-mail 'nobody@na.example'"),
    (["reoffer", "999"], 1, "error: no lead 999"),
    (["reopen", "{won}", "--to", "nurture", "--stream", "nope"], 1, "error: no nurture stream 'nope' in flows.yaml"),
    (["reopen", "{won}", "--to", "limbo"], 2, "'limbo' is not one of 'nurture', 'routing'"),
    (["assign", "{won}"], 2, "Missing option '--rep'"),
], ids=["won", "unknown-rep", "unknown-lead", "bad-stream", "bad-to", "no-rep"])
def test_cli_refuses_a_bad_action_with_the_reason(rt, db_url, args, code, message):
    won = h.capture(rt, "direct", "won@acme.example")
    h.close(rt, won, LeadStatus.WON)
    before = h.snapshot(rt)
    done = _cli(db_url, *[a.format(won=won) for a in args])
    assert done.exit_code == code, done.output
    assert message.format(won=won) in done.output
    assert h.snapshot(rt) == before


# ---- the dashboard --------------------------------------------------------------------------------

def test_dashboard_lead_page_shows_the_hold_the_sibling_the_account_and_the_actions(rt, client_for):
    first = h.capture(rt, "direct", "sib@acme.example")
    second = h.capture(rt, "direct", "sib2@acme.example")
    h.set_status(rt, second, LeadStatus.HELD, hold_until=datetime(2026, 1, 5, 14, tzinfo=UTC), linked_to_id=first)
    client = client_for(rt)
    h.login(client)
    page = client.get(f"/dashboard/leads/{second}").get_data(as_text=True)
    assert "held until 2026-01-05 14:00" in page and "offered when the first eligible rep's day starts" in page
    assert f'href="/dashboard/leads/{first}"' in page
    assert f'href="/dashboard/accounts/{h.lead(rt, second).account_id}"' in page
    for action in ("assign", "reoffer", "reroute"):
        assert f'action="/dashboard/leads/{second}/{action}"' in page
    assert "/reopen" not in page  # only a won, lost or closed lead can be reopened
    h.close(rt, first, LeadStatus.WON)
    closed = client.get(f"/dashboard/leads/{first}").get_data(as_text=True)
    assert f'action="/dashboard/leads/{first}/reopen"' in closed and "/assign" not in closed


def test_dashboard_assign_form_acts_and_names_who_did_it(rt, client_for):
    reps = rt.extras["reps"]
    lead_id = h.capture(rt, "direct", "dash@acme.example")
    client = client_for(rt)
    h.login(client)
    token = h.csrf_token(client.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True))
    resp = client.post(f"/dashboard/leads/{lead_id}/assign",
                       data={"csrf_token": token, "rep_id": str(reps["Bob"]), "by": "jane"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/dashboard/leads/{lead_id}"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"lead {lead_id} assigned to Bob" in page and "Assigned to Bob by jane" in page
    assert 'value="jane"' in page  # the name is offered again on the next form
    assert h.lead(rt, lead_id).owner_rep_id == reps["Bob"]
    assert h.outbox(rt, lead_id)[-1].fields["hubspot_owner_id"] == "7002"


def test_dashboard_reopen_form_reopens_a_won_lead(rt, client_for):
    lead_id = h.capture(rt, "direct", "dash@acme.example")
    h.close(rt, lead_id, LeadStatus.WON, amount=10.0)
    client = client_for(rt)
    h.login(client)
    token = h.csrf_token(client.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True))
    resp = client.post(f"/dashboard/leads/{lead_id}/reopen", data={"csrf_token": token, "to": "nurture", "stream": ""})
    assert resp.status_code == 303
    assert (h.lead(rt, lead_id).status, h.lead(rt, lead_id).nurture_stream) == ("nurture", "revival")
    assert h.events(rt, lead_id, "reopened")[0].data["by"] == "dashboard"


@pytest.mark.parametrize("action, form, status, error", [
    ("assign", {"rep_id": "2"}, 400, "this form has expired or did not come from this page: try again"),
    ("assign", {"rep_id": "2", "csrf_token": "forged"}, 400, "this form has expired or did not come from this page"),
    ("assign", {"rep_id": "", "csrf_token": "{token}"}, 400, "choose the rep to assign the lead to"),
    ("assign", {"rep_id": "4", "csrf_token": "{token}"}, 409, "rep 4 (Old) is inactive"),
    ("assign", {"rep_id": "999", "csrf_token": "{token}"}, 404, "no rep 999"),
    ("reopen", {"to": "nurture", "csrf_token": "{token}"}, 409, "is offered, not won, lost or closed"),
    ("reopen", {"to": "", "csrf_token": "{token}"}, 400, "choose where to reopen the lead: nurture or routing"),
    ("explode", {"csrf_token": "{token}"}, 404, "no action &#39;explode&#39;"),
], ids=["no-token", "forged-token", "no-rep", "inactive-rep", "unknown-rep", "not-closed", "no-to", "unknown-action"])
def test_dashboard_bad_forms_show_why_with_a_4xx_and_change_nothing(rt, client_for, action, form, status, error):
    lead_id = h.capture(rt, "direct", "dash@acme.example")
    client = client_for(rt)
    h.login(client)
    token = h.csrf_token(client.get(f"/dashboard/leads/{lead_id}").get_data(as_text=True))
    before = h.snapshot(rt)
    resp = client.post(f"/dashboard/leads/{lead_id}/{action}", data={k: v.format(token=token) for k, v in form.items()})
    assert resp.status_code == status
    assert error in resp.get_data(as_text=True)
    assert h.snapshot(rt) == before


def test_dashboard_actions_need_the_login(rt, client_for):
    lead_id = h.capture(rt, "direct", "dash@acme.example")
    resp = client_for(rt).post(f"/dashboard/leads/{lead_id}/reroute", data={})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/dashboard/login")
    assert h.lead(rt, lead_id).status == LeadStatus.OFFERED
