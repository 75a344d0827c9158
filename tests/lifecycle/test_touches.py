"""Every touch decides the lead again: the issue's Ann Lee example on the shipped flows.yaml and reps."""
from __future__ import annotations

from connector.capture import lifecycle
from connector.routing import offers
from connector.store.models import Lead
from tests.support.lifecycle_touch import (
    emails_of,
    entries,
    example_reps,
    kinds,
    lead_of,
    offers_of,
    outbox_of,
    submit,
)

TOM = "tom.walsh@northwind-analytics.com"  # na_insight, US, no fixed hours: the rep Ann's lead goes to


def test_newsletter_then_demo_request_promotes_and_offers(runtime, clock):
    reps = example_reps(runtime)
    lead_id = submit(runtime, "newsletter")
    lead = lead_of(runtime, lead_id)
    assert (lead.status, lead.score, lead.mql_level, lead.flow) == ("nurture", 42, 1, "unqualified")
    assert offers_of(runtime, lead_id) == []
    clock.advance(days=7)
    assert submit(runtime, "demo_request") == lead_id  # the same person: merged into her lead
    lead = lead_of(runtime, lead_id)
    assert lead.attributes["form"] == "demo_request"
    assert (lead.score, lead.mql_level, lead.flow, lead.outcome, lead.team) == (64, 2, "qualified", "routed",
                                                                               "na_insight")
    assert lead.status == "offered" and lead.nurture_stream is None and lead.decided_with == runtime.spec.hash
    [promoted] = entries(runtime, lead_id, "promoted")
    assert promoted.message == "promoted: MQL 1 → 2 after demo_request"
    assert kinds(runtime, lead_id)[-3:] == ["duplicate", "promoted", "offered"]
    [offer] = offers_of(runtime, lead_id)  # offered exactly as a new lead would be
    assert offer.rep_id == reps[TOM] and offer.status == "pending"
    assert [e.to for e in emails_of(runtime, lead_id, "offer")] == [TOM]
    with runtime.db.session() as s:
        assert s.query(Lead).count() == 1


def test_a_lead_being_offered_keeps_its_offer_and_records_the_new_score(runtime, clock):
    example_reps(runtime)
    lead_id = submit(runtime, "demo_request")
    [offer] = offers_of(runtime, lead_id)
    clock.advance(minutes=2)
    submit(runtime, "pricing")  # priority 8 instead of 10: 64 → 59, still MQL 2
    lead = lead_of(runtime, lead_id)
    assert (lead.status, lead.score, lead.mql_level) == ("offered", 59, 2)
    assert [o.id for o in offers_of(runtime, lead_id)] == [offer.id]
    [rescored] = entries(runtime, lead_id, "rescored")
    assert rescored.message == "rescored: score 64 → 59 after pricing"


def test_an_owned_leads_repeat_touch_notifies_the_owner_and_reroutes_nothing(make_runtime, sqlite_url, mailbox, clock):
    rt = make_runtime(sqlite_url, SMTP_URL=mailbox.url)
    reps = example_reps(rt)
    lead_id = submit(rt, "demo_request")
    [offer] = offers_of(rt, lead_id)
    assert offers.accept(rt, offer.id).status == "accepted"
    mailbox.wait_for(1)  # the offer e-mail
    clock.advance(days=2)
    assert submit(rt, "contact_sales", events=[{"type": "webinar_attended"}]) == lead_id
    lead = lead_of(rt, lead_id)
    assert (lead.status, lead.owner_rep_id) == ("accepted", reps[TOM])
    assert lead.score == 76 and lead.mql_level == 3  # scored again, not routed again
    assert [o.id for o in offers_of(rt, lead_id)] == [offer.id]
    [mail] = [m for m in mailbox.wait_for(2) if "back" in str(m["Subject"])]
    assert mail["To"] == TOM and "contact_sales" in str(mail["Subject"])
    text = mailbox.text(mail)
    assert "Score 64 → 76 (MQL 2 → 3)" in text and "nothing was re-routed" in text
    [told] = entries(rt, lead_id, "owner_told")
    assert told.message == "owner Tom Walsh told of contact_sales: score 64 → 76"
    crm, fields = outbox_of(rt, lead_id)[-1]  # the CRM record updated with the new score and the owner
    assert fields["Leadwire_Score__c"] == 76 and fields["Leadwire_Status__c"] == "accepted"
    assert fields["OwnerId"] == "0055g00000A1TWAAAA"


def test_a_repeat_submission_with_nothing_new_records_the_touch_only(runtime, clock):
    lead_id = submit(runtime, "newsletter")
    rows = len(outbox_of(runtime, lead_id))
    clock.advance(days=1)
    assert submit(runtime, "newsletter") == lead_id
    assert kinds(runtime, lead_id) == ["captured", "decision", "duplicate"]
    assert len(outbox_of(runtime, lead_id)) == rows  # nothing changed: nothing to write


def test_redecide_answers_the_transition_before_and_after(runtime, clock):
    lead_id = submit(runtime, "newsletter")
    with runtime.db.session() as s:
        lead = s.get(Lead, lead_id)
        lead.attributes = {**lead.attributes, "role": "student"}
        result = lifecycle.redecide(s, runtime, lead, clock.now(), cause="role fixed by hand", by="test")
    assert result.transition == "demoted" and result.lead_id == lead_id
    assert result.before.as_dict() == {"status": "nurture", "score": 42, "mql_level": 1, "flow": "unqualified"}
    assert result.after.status == "rejected" and result.after.mql_level is None
    assert result.message == "demoted: MQL 1 → none (role fixed by hand), now rejected (students are not prospects)"
    lead = lead_of(runtime, lead_id)
    assert (lead.status, lead.reject_reason) == ("rejected", "students are not prospects")
