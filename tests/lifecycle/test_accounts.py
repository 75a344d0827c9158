"""A company has one owner (the shipped flows.yaml, account defaults): the first rep to accept a lead of an
account owns it and is offered its next leads first; while one lead is worked its siblings wait for the
owner alone; a won lead closes (or re-routes, or keeps) its open siblings; the account API and page."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from connector.jobs.tick import run_tick
from connector.routing import offers as offers_uc
from connector.store.models import Account
from connector.store.statuses import LeadStatus, OfferStatus
from connector.web import create_app
from tests.support import lifecycle_accounts as h
from tests.support.analytics import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def make_rt(make_runtime, sqlite_url, mailbox):
    """A runtime on SQLite (inline jobs, fake clock, SMTP catcher) on `flows` (default: the shipped file),
    with the three NA reps; returns (runtime, {rep name: id})."""
    def make(flows=h.SHIPPED):
        rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(flows), SMTP_URL=mailbox.url,
                          LEADWIRE_ADMIN_PASSWORD=PASSWORD)
        return rt, h.add_reps(rt, *h.NA)
    return make


def _accepted_by_cy(rt, ids, clock, n=0) -> int:
    """Lead `n` of acme.com declined by Ann and Bob (round robin order), then accepted by Cy."""
    lead_id = h.capture(rt, n)
    for name in ("Ann", "Bob"):
        [offer] = h.pending(rt, lead_id)
        assert offer.rep_id == ids[name]
        offers_uc.decline(rt, offer.id)
    [offer] = h.pending(rt, lead_id)
    assert offer.rep_id == ids["Cy"]
    clock.advance(minutes=1)
    assert offers_uc.accept(rt, offer.id).status == "accepted"
    return lead_id


@pytest.mark.parametrize("filters", ["shipped", "without account_owner"])
def test_the_accepting_rep_owns_the_account_and_is_offered_its_next_lead_first(make_rt, tmp_path, clock, filters):
    flows = h.SHIPPED if filters == "shipped" else h.flows_variant(
        tmp_path, "filters: [account_owner, territory,", "filters: [territory,")
    rt, ids = make_rt(flows)
    first = _accepted_by_cy(rt, ids, clock)
    owned = h.account(rt)
    assert (owned.owner_rep_id, owned.owner_until) == (ids["Cy"], clock.now() + timedelta(days=90))
    until = f"{clock.now() + timedelta(days=90):%Y-%m-%d}"
    assert h.messages(rt, first, "account.owner") == [f"account acme.com now owned by Cy until {until}"]

    h.close(rt, first, "lost")                 # nobody works a lead of acme.com now; Cy still owns it
    clock.advance(days=10)
    second = h.capture(rt, 1)                  # round robin alone would now start with Bob
    plan = h.lead(rt, second).offer_plan
    assert plan["candidates"] == [ids["Cy"], ids["Bob"], ids["Ann"]]   # the owner first, the others behind
    [offer] = h.pending(rt, second)
    assert offer.rep_id == ids["Cy"] and h.lead(rt, second).linked_to_id is None
    [decision] = h.messages(rt, second, "decision")
    assert decision.startswith("routed, by flow qualified")
    assert offers_uc.accept(rt, offer.id).status == "accepted"       # the owner's accept renews the hold
    renewed = f"{clock.now() + timedelta(days=90):%Y-%m-%d}"
    assert h.account(rt).owner_until == clock.now() + timedelta(days=90)
    assert h.messages(rt, second, "account.owner") == [f"account acme.com stays with Cy, now until {renewed}"]


def test_a_lapsed_owner_gives_way_to_the_next_rep_who_accepts(make_rt, clock):
    rt, ids = make_rt()
    first = _accepted_by_cy(rt, ids, clock)
    h.close(rt, first, "lost")
    clock.advance(days=91)                     # Cy's hold has lapsed: round robin again, Bob first
    second = h.capture(rt, 1)
    [offer] = h.pending(rt, second)
    assert offer.rep_id == ids["Bob"]
    offers_uc.accept(rt, offer.id)
    assert h.account(rt).owner_rep_id == ids["Bob"]
    assert "(rep %d's hold had lapsed)" % ids["Cy"] in h.messages(rt, second, "account.owner")[0]


def test_an_owner_the_crm_set_is_kept_when_another_rep_accepts(make_rt, clock):
    rt, ids = make_rt()
    with rt.db.session() as s:
        s.add(Account(domain="acme.com", name="Acme", owner_rep_id=ids["Bob"], created_at=clock.now()))
    lead_id = h.capture(rt, 0)
    [offer] = h.pending(rt, lead_id)
    assert offer.rep_id == ids["Bob"]          # the CRM's owner first
    offers_uc.decline(rt, offer.id)
    [offer] = h.pending(rt, lead_id)
    offers_uc.accept(rt, offer.id)
    owned = h.account(rt)
    assert (owned.owner_rep_id, owned.owner_until) == (ids["Bob"], None)
    assert h.messages(rt, lead_id, "account.owner_kept") == ["account acme.com stays with its owner Bob"]


def test_while_one_lead_is_worked_its_sibling_is_offered_to_the_owner_only(make_rt, clock, mailbox):
    rt, ids = make_rt()
    first = _accepted_by_cy(rt, ids, clock)
    second = h.capture(rt, 1)
    sibling = h.lead(rt, second)
    assert sibling.linked_to_id == first and sibling.offer_plan["candidates"] == [ids["Cy"]]
    [offer] = h.offers(rt, second)
    assert offer.rep_id == ids["Cy"] and offer.status == OfferStatus.PENDING
    assert h.messages(rt, second, "account.linked") == [
        f"Linked to lead #{first}: account acme.com is being worked there; offered only to Cy"]
    assert len(mailbox.to("cy@northwind.example")) == 2          # the first lead's offer and this one
    offers_uc.decline(rt, offer.id)            # the owner passes: the normal escalation, no competing rep
    assert h.lead(rt, second).status == LeadStatus.ESCALATED and len(h.offers(rt, second)) == 1
    assert mailbox.to("ann@northwind.example")[-1]["Subject"].startswith("New lead")  # only the first lead's


def test_a_won_lead_closes_its_open_siblings_once(make_rt, clock):
    rt, ids = make_rt()
    first = _accepted_by_cy(rt, ids, clock)
    second, third = h.capture(rt, 1), h.capture(rt, 2)
    other = h.capture(rt, 3, domain="globex.com")
    offers_uc.decline(rt, h.pending(rt, third)[0].id)             # escalated: still open
    clock.advance(minutes=2)                                      # within the second lead's offer window
    h.close(rt, first, "won")
    assert run_tick(rt)["accounts.settle_won"] == 2
    for sibling in (second, third):
        closed = h.lead(rt, sibling)
        assert (closed.status, closed.closed_at) == (LeadStatus.CLOSED, clock.now())
        assert h.messages(rt, sibling, "account.won") == [f"closed: account acme.com won on lead #{first}"]
    assert [o.status for o in h.offers(rt, second)] == [OfferStatus.WITHDRAWN]
    assert h.lead(rt, other).status == LeadStatus.OFFERED                   # another company: untouched
    assert run_tick(rt)["accounts.settle_won"] == 0                          # idempotent


def test_reroute_siblings_offers_them_again_to_every_rep(make_rt, tmp_path, clock):
    rt, ids = make_rt(h.flows_variant(tmp_path, "on_won: close_siblings", "on_won: reroute_siblings"))
    first = _accepted_by_cy(rt, ids, clock)
    second = h.capture(rt, 1)
    offers_uc.decline(rt, h.pending(rt, second)[0].id)
    assert h.lead(rt, second).status == LeadStatus.ESCALATED          # held for Cy, who passed
    h.close(rt, first, "won")
    assert run_tick(rt)["accounts.settle_won"] == 1
    again = h.lead(rt, second)
    assert again.status == LeadStatus.OFFERED and again.offer_plan["candidates"][0] == ids["Cy"]
    assert set(again.offer_plan["candidates"]) == set(ids.values())   # nothing is being worked: every rep
    assert h.messages(rt, second, "account.won") == [
        f"account acme.com won on lead #{first}: offered again under the current flows"]
    offers_uc.decline(rt, h.pending(rt, second)[0].id)
    assert h.pending(rt, second)[0].rep_id in (ids["Ann"], ids["Bob"])
    assert run_tick(rt)["accounts.settle_won"] == 0


def test_keep_siblings_leaves_them_as_they_are(make_rt, tmp_path, clock):
    rt, ids = make_rt(h.flows_variant(tmp_path, "on_won: close_siblings", "on_won: keep_siblings"))
    first = _accepted_by_cy(rt, ids, clock)
    second = h.capture(rt, 1)
    h.close(rt, first, "won")
    assert run_tick(rt)["accounts.settle_won"] == 1
    assert h.lead(rt, second).status == LeadStatus.OFFERED and len(h.pending(rt, second)) == 1
    assert "left as it is" in h.messages(rt, second, "account.won")[0]
    assert run_tick(rt)["accounts.settle_won"] == 0


def test_the_account_api_lists_owner_leads_and_history(make_rt, clock):
    rt, ids = make_rt()
    first = _accepted_by_cy(rt, ids, clock)
    second = h.capture(rt, 1)
    account_id = h.account(rt).id
    client = create_app(runtime=rt).test_client()
    assert client.get(f"/api/accounts/{account_id}").status_code == 401
    body = client.get(f"/api/accounts/{account_id}", headers=h.AUTH).get_json()
    assert (body["domain"], body["owner"]["name"], body["owner_current"]) == ("acme.com", "Cy", True)
    assert body["owner_until"] == (clock.now() + timedelta(days=90)).isoformat()
    assert [(x["id"], x["status"], x["linked_to_id"]) for x in body["leads"]] == [
        (second, "offered", first), (first, "accepted", None)]
    assert [(e["lead_id"], e["kind"]) for e in body["history"]] == [(second, "account.linked"),
                                                                    (first, "account.owner")]
    assert client.get("/api/accounts/999", headers=h.AUTH).status_code == 404


def test_the_account_page_is_behind_the_dashboard_login(make_rt, clock):
    rt, ids = make_rt()
    first = _accepted_by_cy(rt, ids, clock)
    second = h.capture(rt, 1)
    account_id = h.account(rt).id
    client = create_app(runtime=rt).test_client()
    resp = client.get(f"/dashboard/accounts/{account_id}")
    assert resp.status_code == 302 and "/dashboard/login" in resp.headers["Location"]
    h.login(client)
    page = client.get(f"/dashboard/accounts/{account_id}").get_data(as_text=True)
    assert "acme.com" in page and "Cy &lt;cy@northwind.example&gt;" in page
    assert f'href="/dashboard/leads/{first}"' in page and f'href="/dashboard/leads/{second}"' in page
    assert "account acme.com now owned by Cy" in page and "offered only to Cy" in page
    assert client.get("/dashboard/accounts/999").status_code == 404


def test_the_account_page_in_chromium(make_rt, clock):
    rt, ids = make_rt()
    first = _accepted_by_cy(rt, ids, clock)
    second = h.capture(rt, 1)
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/dashboard/accounts/{h.account(rt).id}")
            assert "/dashboard/login" in page.url                    # the dashboard's login first
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#account")
            assert page.locator("#owner").inner_text() == "Cy <cy@northwind.example>"
            assert page.locator("#leads tr").count() == 3              # the header and two leads
            assert "offered only to Cy" in page.locator("#history").inner_text()
            assert page.locator(f"#history a[href='/dashboard/leads/{first}']").count() == 1
            page.click(f"#leads a[href='/dashboard/leads/{second}']")
            page.wait_for_url(f"**/dashboard/leads/{second}")
            browser.close()
    finally:
        server.shutdown()
        thread.join(5)
