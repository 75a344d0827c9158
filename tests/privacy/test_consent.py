"""Consent: a person who opted out (flows.yaml `consent:`) is not written to the CRMs and no feedback
e-mail about them goes out; their timeline says so once; everyone else is untouched."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from connector.flows.model import Condition, Consent
from connector.pursuit import requests
from connector.store import writeback
from connector.store.models import Email, FeedbackRequest, Lead, Rep, TimelineEvent
from tests.flows.helpers import BASE, FLOWS, line_of, problems, spec

SECTION = """\
consent:
  opted_out: {field: attributes.consent, eq: false}
  withhold: [crm, feedback]
"""


def test_a_consent_section_compiles_its_condition(tmp_path):
    loaded = spec(tmp_path, BASE + SECTION + FLOWS)
    assert loaded.consent.withholds("crm", {"attributes": {"consent": False}})
    assert not loaded.consent.withholds("crm", {"attributes": {"consent": True}})
    assert not spec(tmp_path).consent.withholds("crm", {"attributes": {"consent": False}})  # no section: no rule


def test_an_unknown_withheld_step_names_its_line(tmp_path):
    text = BASE + SECTION.replace("[crm, feedback]", "[crm, feedbak]") + FLOWS
    found = problems(tmp_path, text)
    assert any(f"flows.yaml:{line_of(text, 'withhold')}: " in p and "unknown step 'feedbak'" in p
               and 'did you mean "feedback"' in p for p in found), found


@pytest.fixture
def runtime(make_runtime, sqlite_url):
    rt = make_runtime(sqlite_url)
    opted_out = Condition(lambda facts: (facts.get("attributes") or {}).get("consent") is False, "consent = false")
    rt.spec = dataclasses.replace(rt.spec, consent=Consent(opted_out, ("crm", "feedback")))
    return rt


def lead(s, clock, consent: bool, **fields) -> Lead:
    row = Lead(source="website", flow="qualified", outcome="routed", status="accepted", email=f"{consent}@example.com",
               last_name="Person", attributes={"consent": consent}, captured_at=clock.now(), updated_at=clock.now(),
               **fields)
    s.add(row)
    s.flush()
    return row


def withheld(s, lead_id: int) -> list[str]:
    return list(s.scalars(select(TimelineEvent.message).where(TimelineEvent.lead_id == lead_id,
                                                              TimelineEvent.kind == "consent.withheld")))


def test_an_opted_out_person_is_not_written_to_the_crms(runtime, clock):
    with runtime.db.session() as s:
        out, agreed = lead(s, clock, False), lead(s, clock, True)
        assert writeback.enqueue_lead_write(s, runtime, out) == []
        assert writeback.enqueue_lead_write(s, runtime, out, {"score": 80}, reason="score") == []
        assert {row.crm for row in writeback.enqueue_lead_write(s, runtime, agreed)} == {"hubspot", "salesforce"}
        assert withheld(s, out.id) == ["The person opted out: not written to the CRMs (crm)"]  # said once
        assert withheld(s, agreed.id) == []


def test_no_feedback_email_goes_out_about_an_opted_out_person(runtime, clock):
    with runtime.db.session() as s:
        rep = Rep(email="rita@example.com", name="Rita Rep", created_at=clock.now())
        s.add(rep)
        s.flush()
        owned = {"owner_rep_id": rep.id, "accepted_at": clock.now()}
        out, agreed = lead(s, clock, False, **owned), lead(s, clock, True, **owned)
        ids = {}
        for row in (out, agreed):
            request = FeedbackRequest(lead_id=row.id, rep_id=rep.id, due_at=clock.now())
            s.add(request)
            s.flush()
            ids[row.id] = request.id
    assert requests.send_due(runtime, clock.now()) == 1
    with runtime.db.session() as s:
        assert s.get(FeedbackRequest, ids[out.id]).status == "cancelled"
        assert s.get(FeedbackRequest, ids[agreed.id]).status == "sent"
        assert s.scalar(select(func.count()).select_from(Email).where(Email.lead_id == out.id)) == 0
        assert withheld(s, out.id) == ["The person opted out: no feedback e-mails about them (feedback)"]
