"""A real headless Chromium answers from the e-mails: level 2 from the first request, level 3 from the next."""
import dataclasses
import threading

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from connector.jobs.tick import run_tick
from connector.store.models import FeedbackRequest, Lead
from connector.web import create_app
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.pursuit import accept_lead, add_rep


@pytest.fixture
def served(fb_rt):
    """The app over real HTTP on a free port, with links in e-mails pointing at it."""
    server = make_server("127.0.0.1", 0, create_app(runtime=fb_rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fb_rt.settings = dataclasses.replace(fb_rt.settings, base_url=f"http://127.0.0.1:{server.server_port}")
    yield fb_rt
    server.shutdown()
    thread.join(5)


def test_rep_answers_level_2_then_level_3_from_the_next_request(served, clock, smtp_inbox):
    rt, inbox = served, smtp_inbox[0]
    lead_id = accept_lead(rt, add_rep(rt, "pat@example.com"))
    clock.advance(days=2)
    run_tick(rt)
    [first] = inbox.to("pat@example.com")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})   # a phone
        page.goto(inbox.links(first, "/f/")[0])
        assert page.evaluate("document.documentElement.scrollWidth") <= 390   # no sideways scrolling
        page.check("input[name=contacted][value=yes]")
        page.select_option("#action", "call")
        page.fill("#action_at", "2026-01-06")
        page.select_option("#pursuit_status", "quote_sent")
        page.click("#send")
        assert "Level 2 (pursuit status) feedback recorded" in page.inner_text("#result")

        clock.advance(days=7)
        run_tick(rt)
        second = inbox.to("pat@example.com")[1]
        assert "feedback 2/4" in second["Subject"]
        page.goto(inbox.links(second, "/f/")[0])
        assert page.input_value("#pursuit_status") == "quote_sent"        # prefilled from the first answer
        page.check("input[name=outcome][value=won]")
        page.fill("#amount", "abc")
        page.click("#send")
        assert "Amount: must be a number" in page.inner_text("#errors")  # told what is wrong, on the page
        page.fill("#amount", "18,000")
        page.fill("#close_date", "2026-01-13")
        page.click("#send")
        assert "Level 3 (won/lost) feedback recorded" in page.inner_text("#result")
        assert "complete" in page.inner_text("#result")
        browser.close()

    clock.advance(days=60)
    assert run_tick(rt)["feedback.send_due"] == 0
    assert len(inbox.to("pat@example.com")) == 2
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.status, lead.won_amount, lead.closed_at.date().isoformat()) == ("won", 18000.0, "2026-01-13")
        assert [r.status for r in s.scalars(select(FeedbackRequest).where(FeedbackRequest.lead_id == lead_id)
                                            .order_by(FeedbackRequest.seq))] == ["answered", "answered", "cancelled"]
