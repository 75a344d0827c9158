"""Merging a repeat touch into a stored lead: per-field rules, owned identity fields, appended events."""
from __future__ import annotations

from datetime import UTC, datetime

from connector.flows.merge import merge, merge_events
from connector.flows.model import DuplicateSpec
from connector.routing import offers
from tests.support.lifecycle_touch import entries, example_reps, lead_of, offers_of, submit

NOW = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
RULES = DuplicateSpec(merge={"title": "newest", "phone": "fill_blank", "campaign": "keep",
                             "attributes.industry": "keep"})


def test_each_field_follows_its_merge_rule():
    stored = {"title": "CTO", "phone": None, "campaign": "spring", "city": "Boston", "first_name": "Ann"}
    incoming = {"title": "Chief Technology Officer", "phone": "+14155550100", "campaign": "autumn",
                "city": "San Francisco", "first_name": ""}
    merged = merge(stored, incoming, RULES, owned=False, now=NOW)
    assert merged.changes == {"title": "Chief Technology Officer", "phone": "+14155550100", "city": "San Francisco"}
    assert merged.changed == ("city", "phone", "title") and merged.proposed == {}


def test_fill_blank_never_replaces_a_stored_value():
    merged = merge({"phone": "+14155550100"}, {"phone": "+14155550199"}, RULES, owned=False, now=NOW)
    assert merged.changes == {}


def test_identity_fields_of_an_owned_lead_are_only_proposed():
    stored = {"email": "ann.lee@bigbank.example", "last_name": "Lee", "company": "BigBank", "phone": None,
              "company_domain": "bigbank.example", "title": "CTO"}
    incoming = {"email": "ann@gmail.example", "last_name": "Lee-Smith", "company": "BigBank Inc.",
                "phone": "+14155550199", "company_domain": "gmail.example", "title": "CEO"}
    merged = merge(stored, incoming, RULES, owned=True, now=NOW)
    # a blank identity field is filled (that overwrites nothing); the others stay and are proposed
    assert merged.changes == {"phone": "+14155550199", "title": "CEO"}
    assert merged.proposed == {"email": "ann@gmail.example", "last_name": "Lee-Smith", "company": "BigBank Inc."}


def test_attributes_merge_key_by_key_and_events_are_appended():
    stored = {"attributes": {"form": "newsletter", "industry": "finance", "role": "executive",
                             "events": [{"type": "webinar_attended", "at": "2026-01-05T09:00:00+00:00"}]}}
    incoming = {"attributes": {"form": "demo_request", "industry": "software",
                               "events": [{"type": "webinar_attended", "at": "2026-01-05T09:00:00+00:00"},
                                          {"type": "pricing_viewed", "at": None}]}}
    merged = merge(stored, incoming, RULES, owned=False, now=NOW)
    attributes = merged.changes["attributes"]
    assert attributes["form"] == "demo_request" and attributes["industry"] == "finance"  # industry: keep
    assert attributes["role"] == "executive"
    assert attributes["events"] == [{"type": "webinar_attended", "at": "2026-01-05T09:00:00+00:00"},
                                    {"type": "pricing_viewed", "at": NOW.isoformat()}]  # no time: this touch's
    assert merged.changed == ("attributes.events", "attributes.form")
    assert merged.events_added == ({"type": "pricing_viewed", "at": NOW.isoformat()},)


def test_events_are_deduplicated_by_type_and_time_as_a_multiset():
    at = "2026-01-05T09:00:00+00:00"
    stored = [{"type": "email_opened", "at": at}] * 3
    events, added = merge_events(stored, [{"type": "email_opened", "at": at}] * 4, NOW)
    assert len(events) == 4 and added == [{"type": "email_opened", "at": at}]


def test_identity_fields_of_an_owned_lead_survive_a_fuzzy_name_and_company_merge(runtime, clock):
    example_reps(runtime)
    lead_id = submit(runtime, "demo_request")  # MQL 2: offered to a rep ...
    [offer] = offers_of(runtime, lead_id)
    assert offers.accept(runtime, offer.id).status == "accepted"  # ... who accepts: the lead is owned
    clock.advance(days=3)
    again = submit(runtime, "pricing", email="ann.lee@gmail.example", phone="+1 415 555 0199",
                   company="BigBank Inc.", job_title="Chief Technology Officer", website=None)
    assert again == lead_id  # matched by similar name at the same company, merged into the owned lead
    lead = lead_of(runtime, lead_id)
    assert (lead.email, lead.phone, lead.company) == ("ann.lee@bigbank.example", "+14155550100", "BigBank")
    assert lead.title == "Chief Technology Officer"  # not an identity field: newest wins
    [touch] = entries(runtime, lead_id, "duplicate")
    assert touch.data["rule"] == "name_company"
    assert touch.data["proposed"] == {"email": "ann.lee@gmail.example", "phone": "+14155550199",
                                      "company": "BigBank Inc."}
    assert "proposed company, email, phone" in touch.message
