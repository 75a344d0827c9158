"""Requests on the cadence through the real tick: sending, stopping, escalation, e-mail over real SMTP."""
from datetime import timedelta

from sqlalchemy import select

from connector.flows.pursuit import make_answers
from connector.jobs.tick import run_tick
from connector.pursuit import answers, requests, schedule
from connector.store import timeline
from connector.store.models import FeedbackRequest, Lead
from tests.support.pursuit import accept_lead, add_rep

DAY = timedelta(days=1)


def requests_of(rt, lead_id):
    with rt.db.session() as s:
        return [(r.seq, r.status) for r in s.scalars(select(FeedbackRequest).where(
            FeedbackRequest.lead_id == lead_id).order_by(FeedbackRequest.id))]


def kinds(rt, lead_id):
    with rt.db.session() as s:
        return [e.kind for e in timeline.events(s, lead_id)]


def answer_now(rt, lead_id, **values):
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        answers.record(s, rt, lead, lead.owner_rep_id, make_answers(**values), rt.clock.now())


def test_every_n_days_at_most_m_times_then_stops(fb_rt_any, clock, smtp_inbox):
    rt, (inbox, _) = fb_rt_any, smtp_inbox
    rep = add_rep(rt, "rita@example.com")
    lead_id = accept_lead(rt, rep)
    start = clock.now()
    assert run_tick(rt)["feedback.send_due"] == 0          # nothing before 2 days
    clock.advance(days=2) ; assert run_tick(rt)["feedback.send_due"] == 1
    assert run_tick(rt)["feedback.send_due"] == 0          # a second tick at the same time sends nothing twice
    for week in (1, 2, 3):
        clock.set(start + 2 * DAY + week * 7 * DAY - timedelta(minutes=1))
        assert run_tick(rt)["feedback.send_due"] == 0      # not a minute early
        clock.advance(minutes=1)
        assert run_tick(rt)["feedback.send_due"] == 1
    clock.advance(days=60)
    assert run_tick(rt)["feedback.send_due"] == 0
    mails = inbox.to("rita@example.com")
    assert [m["Subject"].split("(")[-1] for m in mails] == ["feedback 1/4)", "feedback 2/4)", "feedback 3/4)", "feedback 4/4)"]
    assert "Lead #%d: Ann Lee — Acme" % lead_id in inbox.text(mails[0]) and inbox.links(mails[0], "/f/")
    assert requests_of(rt, lead_id) == [(1, "escalated"), (2, "escalated"), (3, "escalated"), (4, "escalated")]
    assert kinds(rt, lead_id).count("feedback.sent") == 4 and "feedback.stopped" in kinds(rt, lead_id)


def test_once_n_days_after_acceptance(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "olga@example.com")
    lead_id = accept_lead(fb_rt, rep, flow="once")
    clock.advance(days=2)
    run_tick(fb_rt)
    clock.advance(days=90)
    run_tick(fb_rt)
    assert len(smtp_inbox[0].to("olga@example.com")) == 1
    assert requests_of(fb_rt, lead_id) == [(1, "sent")]     # escalate_after 0: never escalated


def test_per_product_cadence_in_weeks_and_months(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "sam@example.com")
    accept_lead(fb_rt, rep, product="solar")
    start = clock.now()
    sent_at = []
    for day in range(0, 120):
        clock.set(start + day * DAY)
        if run_tick(fb_rt)["feedback.send_due"]:
            sent_at.append(day)
    assert sent_at == [7, 37, 67]                          # 1 week, then every 30 days, at most 3


def test_wanted_level_received_stops_requests(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "uma@example.com")
    lead_id = accept_lead(fb_rt, rep, flow="until2")
    clock.advance(days=2); run_tick(fb_rt)
    answer_now(fb_rt, lead_id, contacted=True, action="call", action_at=clock.now().date())
    clock.advance(days=7); assert run_tick(fb_rt)["feedback.send_due"] == 1   # level 1 < wanted level 2
    answer_now(fb_rt, lead_id, pursuit_status="in_discussion")
    clock.advance(days=30); assert run_tick(fb_rt)["feedback.send_due"] == 0
    assert requests_of(fb_rt, lead_id) == [(1, "answered"), (2, "answered"), (3, "cancelled")]
    assert len(smtp_inbox[0].to("uma@example.com")) == 2


def test_partial_level_one_keeps_asking_complete_level_one_stops(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "ida@example.com")
    lead_id = accept_lead(fb_rt, rep, flow="once")
    with fb_rt.db.session() as s:   # the "once" flow asks until level 1; give it room for a second request
        s.get(FeedbackRequest, 1)
    answer_now(fb_rt, lead_id, contacted=False)              # not contacted yet: partial
    assert requests_of(fb_rt, lead_id) == [(1, "scheduled")]
    answer_now(fb_rt, lead_id, contacted=True, action="email", action_at=clock.now().date())
    assert requests_of(fb_rt, lead_id) == [(1, "cancelled")]
    clock.advance(days=10)
    assert run_tick(fb_rt)["feedback.send_due"] == 0


def test_reassigned_lead_gets_no_more_requests_for_the_old_owner(fb_rt, clock, smtp_inbox):
    old, new = add_rep(fb_rt, "old@example.com"), add_rep(fb_rt, "new@example.com")
    lead_id = accept_lead(fb_rt, old)
    clock.advance(days=2); run_tick(fb_rt)
    clock.advance(days=1)
    with fb_rt.db.session() as s:                          # re-offered and accepted by another rep (offers)
        lead = s.get(Lead, lead_id)
        lead.owner_rep_id, lead.accepted_at = new, clock.now()
        schedule.on_accepted(s, fb_rt, lead, clock.now())
    assert requests_of(fb_rt, lead_id) == [(1, "sent"), (2, "cancelled"), (1, "scheduled")]
    clock.advance(days=2); assert run_tick(fb_rt)["feedback.send_due"] == 1
    clock.advance(days=30); run_tick(fb_rt)
    assert len(smtp_inbox[0].to("old@example.com")) == 1
    assert [m["Subject"][-4:] for m in smtp_inbox[0].to("new@example.com")][0] == "1/4)"
    assert not [m for m in smtp_inbox[0].to("boss@example.com") if "Old" in m["Subject"]]  # old owner not escalated
    assert requests_of(fb_rt, lead_id)[0] == (1, "cancelled")   # its unanswered request can no longer be overdue


def test_closed_lead_gets_no_more_requests(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "wes@example.com")
    lead_id = accept_lead(fb_rt, rep)
    clock.advance(days=2); run_tick(fb_rt)
    answer_now(fb_rt, lead_id, outcome="won", amount=5000.0, close_date=clock.now().date())
    clock.advance(days=60); assert run_tick(fb_rt)["feedback.send_due"] == 0
    assert requests_of(fb_rt, lead_id) == [(1, "answered"), (2, "cancelled")]
    with fb_rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.status, lead.won_amount, lead.closed_at.date()) == ("won", 5000.0, clock.now().date() - 60 * DAY)


def test_overdue_feedback_escalates_to_the_manager_once(fb_rt, clock, smtp_inbox):
    inbox = smtp_inbox[0]
    rep = add_rep(fb_rt, "zed@example.com", manager="mona@example.com")
    lead_id = accept_lead(fb_rt, rep)
    clock.advance(days=2); run_tick(fb_rt)                  # request 1
    clock.advance(days=7); run_tick(fb_rt)                  # request 2; request 1 overdue: 1 < 2
    assert not inbox.to("mona@example.com")
    clock.advance(days=7); done = run_tick(fb_rt)           # request 3; requests 1 and 2 overdue
    assert done["feedback.escalate_overdue"] == 1
    [mail] = inbox.to("mona@example.com")
    assert "Zed (zed@example.com) has not answered 2 feedback requests" in " ".join(inbox.text(mail).split())
    assert run_tick(fb_rt)["feedback.escalate_overdue"] == 0   # not again for the same requests
    answer_now(fb_rt, lead_id, contacted=True, action="visit", action_at=clock.now().date())
    clock.advance(days=30); run_tick(fb_rt)                  # request 4 sent; only 1 unanswered since
    assert len(inbox.to("mona@example.com")) == 1
    assert requests_of(fb_rt, lead_id) == [(1, "answered"), (2, "answered"), (3, "answered"), (4, "sent")]


def test_escalation_without_a_manager_is_on_the_timeline(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "solo@example.com", manager=None)
    lead_id = accept_lead(fb_rt, rep)
    for days in (2, 7, 7):
        clock.advance(days=days); run_tick(fb_rt)
    with fb_rt.db.session() as s:
        [event] = [e for e in timeline.events(s, lead_id) if e.kind == "feedback.escalated"]
    assert "no manager e-mail on file" in event.message


def test_accepting_twice_schedules_once(fb_rt, clock, smtp_inbox):
    rep = add_rep(fb_rt, "tom@example.com")
    lead_id = accept_lead(fb_rt, rep)
    with fb_rt.db.session() as s:
        schedule.on_accepted(s, fb_rt, s.get(Lead, lead_id), clock.now())
    assert requests_of(fb_rt, lead_id) == [(1, "scheduled")]
    assert kinds(fb_rt, lead_id)[:2] == ["feedback.cadence", "feedback.scheduled"]


def test_owner_changed_elsewhere_hands_the_cadence_to_the_new_owner(fb_rt, clock, smtp_inbox):
    old, new = add_rep(fb_rt, "ola@example.com"), add_rep(fb_rt, "nia@example.com")
    lead_id = accept_lead(fb_rt, old)
    clock.advance(days=2); run_tick(fb_rt)
    with fb_rt.db.session() as s:                          # e.g. the owner was changed in the CRM
        s.get(Lead, lead_id).owner_rep_id = new
    clock.advance(days=7); run_tick(fb_rt)                  # old owner's request 2 cancelled, new one scheduled
    run_tick(fb_rt)                                        # ...and, being already due, sent
    assert len(smtp_inbox[0].to("ola@example.com")) == 1
    assert "feedback 1/4" in smtp_inbox[0].to("nia@example.com")[0]["Subject"]
    assert requests_of(fb_rt, lead_id) == [(1, "cancelled"), (2, "cancelled"), (1, "sent"), (2, "scheduled")]


def test_concurrent_ticks_send_each_request_once(pg_url, clock, smtp_inbox):
    import threading

    from tests.support.pursuit import build

    rt = build(pg_url, clock, smtp_inbox[1])
    try:
        rep = add_rep(rt, "cy@example.com", manager=None)
        lead_ids = [accept_lead(rt, rep) for _ in range(12)]
        clock.advance(days=2)
        barrier, counts = threading.Barrier(3), []

        def tick():
            barrier.wait()
            counts.append(requests.send_due(rt, clock.now()))

        threads = [threading.Thread(target=tick) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(counts) == 12
        assert len(smtp_inbox[0].to("cy@example.com")) == 12
        assert all(requests_of(rt, i) == [(1, "sent"), (2, "scheduled")] for i in lead_ids)
    finally:
        rt.close()
