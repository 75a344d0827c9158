"""Real headless Chromium, JavaScript off, on a phone-sized screen: open the link from the received e-mail."""
from tests.support.routing import NA_REPS, add_reps, capture, lead_of, offers_of


def _link(smtp, to):
    smtp[1].wait_for(1)
    [mail] = smtp[1].to(to) or smtp[1].messages[-1:]
    return smtp[1].links(mail, "/o/")[0]


def _offered_lead(rt):
    ids = add_reps(rt, *NA_REPS)
    lead_id = capture(rt, email="jo@acme.example", phone="+14155550100", first_name="Jo", last_name="Park",
                      company="Acme Robotics", country="US", city="Oakland", campaign="seq")
    rep_id = offers_of(rt, lead_id)[0].rep_id
    return lead_id, next(email for email, rid in ids.items() if rid == rep_id)


def test_a_rep_accepts_from_the_emailed_link_in_chromium(live_routing, smtp, phone_browser):
    rt, base = live_routing
    lead_id, rep_email = _offered_lead(rt)
    link = _link(smtp, rep_email)
    assert link.startswith(base)
    page = phone_browser
    page.goto(link)
    assert "Acme Robotics" in page.inner_text("h1")
    assert "Time left: 5 min 0 s" in page.inner_text("#time-left")
    assert "jo@acme.example" not in page.content()
    page.click("#accept")
    assert "You accepted this lead" in page.inner_text("#message")
    assert "jo@acme.example" in page.inner_text("#contact") and "+14155550100" in page.inner_text("#contact")
    assert lead_of(rt, lead_id).status == "accepted"
    page.goto(link)                                   # the link still shows the accepted lead, no buttons
    assert page.locator("#accept").count() == 0


def test_a_rep_declines_with_a_reason_in_chromium_and_the_next_rep_gets_the_offer(live_routing, smtp, phone_browser):
    rt, base = live_routing
    lead_id, rep_email = _offered_lead(rt)
    page = phone_browser
    page.goto(_link(smtp, rep_email))
    page.fill("#reason", "on holiday next week")
    page.click("#decline")
    assert "You declined this lead" in page.inner_text("#message")
    first, second = offers_of(rt, lead_id)
    assert (first.status, first.decline_reason) == ("declined", "on holiday next week")
    assert second.status == "pending" and second.rep_id != first.rep_id
    assert len(smtp[1].wait_for(2)) == 2                   # the next rep was e-mailed
