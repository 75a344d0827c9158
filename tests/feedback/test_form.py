"""The feedback form over HTTP: prefill, validation (422, field-named), one-click answers, token misuse."""
import re
from datetime import timedelta

from sqlalchemy import select

from connector.core.tokens import Tokens
from connector.jobs.tick import run_tick
from connector.store.models import FeedbackRequest, FeedbackResponse, Lead
from tests.support.pursuit import accept_lead, add_rep, first_link


def sent(rt, clock, rep_email="rae@example.com", **kw):
    rep = add_rep(rt, rep_email)
    lead_id = accept_lead(rt, rep, **kw)
    clock.advance(days=2)
    run_tick(rt)
    return lead_id


def responses(rt, lead_id):
    with rt.db.session() as s:
        return list(s.scalars(select(FeedbackResponse).where(FeedbackResponse.lead_id == lead_id)
                              .order_by(FeedbackResponse.id)))


def text(resp):
    return " ".join(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)).split())


def test_form_shows_three_sections_and_records_an_answer(fb_rt, fb_client, clock, smtp_inbox):
    lead_id = sent(fb_rt, clock)
    path = first_link(smtp_inbox[0], "rae@example.com")
    page = fb_client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="viewport"' in body and "1 · Action taken" in body and "2 · Pursuit status" in body \
        and "3 · Won or lost" in body and f"Lead #{lead_id}: Ann Lee — Acme" in body
    done = fb_client.post(path, data={"contacted": "yes", "action": "call", "action_at": "2026-01-06",
                                      "pursuit_status": "in_discussion"})
    assert done.status_code == 200 and "Level 2 (pursuit status) feedback recorded" in text(done)
    [r] = responses(fb_rt, lead_id)
    assert (r.level, r.complete, r.action, r.pursuit_status, r.via) == (2, True, "call", "in_discussion", "form")


def test_form_is_prefilled_with_what_is_known(fb_rt, fb_client, clock, smtp_inbox):
    sent(fb_rt, clock)
    path = first_link(smtp_inbox[0], "rae@example.com")
    fb_client.post(path, data={"contacted": "yes", "action": "visit", "action_at": "2026-01-06"})
    body = fb_client.get(path).get_data(as_text=True)
    assert re.search(r'value="yes" checked', body)
    assert re.search(r'<option value="visit" selected>', body)
    assert 'name="action_at" id="action_at" value="2026-01-06"' in body


def test_bad_input_rerenders_the_form_with_422_and_each_problem(fb_rt, fb_client, clock, smtp_inbox):
    lead_id = sent(fb_rt, clock)
    path = first_link(smtp_inbox[0], "rae@example.com")
    bad = fb_client.post(path, data={"contacted": "yes", "action": "call", "pursuit_status": "golfing",
                                     "outcome": "lost", "amount": "12x", "lost_reason": "price"})
    assert bad.status_code == 422
    words = text(bad)
    assert "Please fix these and send again" in words
    assert "Pursuit status: must be one of: attempting_contact, in_discussion" in words
    assert "Amount: must be a number like 12500 or 12500.50" in words
    assert 'value="12x"' in bad.get_data(as_text=True)          # what was typed is kept
    assert responses(fb_rt, lead_id) == []
    empty = fb_client.post(path, data={})
    assert empty.status_code == 422 and "Form: answer at least one section" in text(empty)


def test_one_click_link_asks_before_recording(fb_rt, fb_client, clock, smtp_inbox):
    lead_id = sent(fb_rt, clock)
    inbox = smtp_inbox[0]
    [call] = [u for u in inbox.links(inbox.to("rae@example.com")[0], "/f/") if u.endswith("/quick/call")]
    path = "/f/" + call.split("/f/", 1)[1]
    confirm = fb_client.get(path)
    assert confirm.status_code == 200 and "Record that you called this lead on 2026-01-07?" in text(confirm)
    assert responses(fb_rt, lead_id) == []                       # GET changes nothing
    done = fb_client.post(path)
    assert "Level 1 (action taken) feedback recorded" in text(done) and "complete" in text(done)
    [r] = responses(fb_rt, lead_id)
    assert (r.contacted, r.action, r.via, r.complete) == (True, "call", "email", True)
    assert fb_client.get(path.replace("/quick/call", "/quick/fax")).status_code == 404


def test_tampered_foreign_and_wrong_lead_tokens_are_refused(fb_rt, fb_client, clock, smtp_inbox):
    lead_id = sent(fb_rt, clock)
    path = first_link(smtp_inbox[0], "rae@example.com")
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for bad in (tampered, "/f/not-a-token"):
        page = fb_client.get(bad)
        assert page.status_code == 403 and "changed or cut short" in text(page)
        assert fb_client.post(bad, data={"pursuit_status": "in_discussion"}).status_code == 403
    tokens = Tokens(fb_rt.settings.secret_key)
    offer = tokens.make("offer", 1, expires_at=clock.now() + timedelta(days=1), nonce=f"{lead_id}:1")
    assert "not valid here" in text(fb_client.get(f"/f/{offer}"))
    other_lead = tokens.make("feedback", 1, expires_at=clock.now() + timedelta(days=1), nonce=f"{lead_id + 1}:1")
    page = fb_client.post(f"/f/{other_lead}", data={"pursuit_status": "in_discussion"})
    assert page.status_code == 403 and "does not belong to this lead" in text(page)
    assert responses(fb_rt, lead_id) == []


def test_expired_link_says_what_to_do(fb_rt, fb_client, clock, smtp_inbox):
    sent(fb_rt, clock)
    path = first_link(smtp_inbox[0], "rae@example.com")
    clock.advance(days=46)
    page = fb_client.get(path)
    assert page.status_code == 410
    assert "This link has expired" in text(page) and "newest feedback e-mail" in text(page)


def test_reassigned_lead_refuses_the_old_owner(fb_rt, fb_client, clock, smtp_inbox):
    lead_id = sent(fb_rt, clock)
    path = first_link(smtp_inbox[0], "rae@example.com")
    other = add_rep(fb_rt, "otto@example.com")
    with fb_rt.db.session() as s:
        s.get(Lead, lead_id).owner_rep_id = other
    page = fb_client.post(path, data={"outcome": "won"})
    assert page.status_code == 410 and "reassigned to another rep" in text(page)
    assert responses(fb_rt, lead_id) == []


def test_older_link_still_works_after_a_newer_request(fb_rt, fb_client, clock, smtp_inbox):
    lead_id = sent(fb_rt, clock)
    clock.advance(days=7)
    run_tick(fb_rt)
    old, new = (first_link(smtp_inbox[0], "rae@example.com", i) for i in (0, 1))
    assert old != new
    page = fb_client.get(old)
    assert page.status_code == 200 and "A newer feedback request (number 2) was sent to you" in text(page)
    assert "newer" not in fb_client.get(new).get_data(as_text=True).split("<form")[0].lower()
    fb_client.post(old, data={"pursuit_status": "quote_sent"})
    with fb_rt.db.session() as s:   # the answer counts for the lead: the newer request is answered too
        assert [r.status for r in s.scalars(select(FeedbackRequest).where(FeedbackRequest.lead_id == lead_id)
                                            .order_by(FeedbackRequest.seq))] == ["answered", "answered", "scheduled"]
    assert 'value="quote_sent" selected' in fb_client.get(new).get_data(as_text=True)
