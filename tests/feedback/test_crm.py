"""Each level's answers reach the CRM outbox through the flow's mapping; CRM status changes count as feedback;
a lost lead is un-converted into the nurture stream with its history kept."""
import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from connector import feedback, timeline
from connector.flows.model import CrmSpec
from connector.flows.pursuit import make_answers
from connector.flows.sections import parse_crm_mapping
from connector.flows.yamlsrc import Problems
from connector.jobs.tick import run_tick
from connector.store.models import FeedbackResponse, Lead, OutboxItem
from tests.feedback.conftest import accept_lead, add_rep

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def crm_rt(fb_rt):
    """The test flows, writing back through the shipped CRM mapping files; leads already exist in both CRMs."""
    problems = Problems()
    crm = CrmSpec(**{name: parse_crm_mapping(REPO / "mappings" / f"crm_{name}_{obj}.yaml", f"{name}.yaml", problems, {})
                     for name, obj in (("hubspot", "contact"), ("salesforce", "lead"))})
    problems.raise_if_any()
    fb_rt.spec = dataclasses.replace(fb_rt.spec, flows=tuple(dataclasses.replace(f, crm=crm) for f in fb_rt.spec.flows))
    return fb_rt


def lead_in_crm(rt, flow="inbound"):
    lead_id = accept_lead(rt, add_rep(rt, "cara@example.com"), flow=flow)
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        lead.salesforce_id, lead.hubspot_id = "00Q000000000001AAA", "501"
    return lead_id


def answer(rt, lead_id, **values):
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        feedback.record(s, rt, lead, lead.owner_rep_id, make_answers(**values), rt.clock.now())


def outbox(rt, lead_id):
    with rt.db.session() as s:
        rows = s.scalars(select(OutboxItem).where(OutboxItem.lead_id == lead_id).order_by(OutboxItem.id))
        return [(r.crm, r.object, r.record_id, r.fields) for r in rows]


def test_level_1_answers_map_to_the_crm(crm_rt, clock):
    lead_id = lead_in_crm(crm_rt)
    answer(crm_rt, lead_id, contacted=True, action="call", action_at=clock.now().date())
    assert outbox(crm_rt, lead_id) == [
        ("hubspot", "contact", "501", {"leadwire_last_action": "call", "leadwire_last_action_date": "2026-01-05"}),
        ("salesforce", "Lead", "00Q000000000001AAA", {"Leadwire_Contacted__c": True, "Leadwire_Last_Action__c": "call",
                                                      "Leadwire_Last_Action_Date__c": "2026-01-05"}),
    ]


def test_level_2_status_maps_to_the_crm_status_fields(crm_rt):
    lead_id = lead_in_crm(crm_rt)
    answer(crm_rt, lead_id, pursuit_status="quote_sent")
    assert [(crm, fields) for crm, _, _, fields in outbox(crm_rt, lead_id)] == [
        ("hubspot", {"hs_lead_status": "quote_sent"}), ("salesforce", {"Status": "quote_sent"})]


def test_level_3_won_writes_the_configured_status_and_amount(crm_rt, clock):
    crm_rt.spec = dataclasses.replace(crm_rt.spec, flows=tuple(
        dataclasses.replace(f, feedback=dataclasses.replace(f.feedback, won_status="Closed - Converted"))
        for f in crm_rt.spec.flows))
    lead_id = lead_in_crm(crm_rt)
    answer(crm_rt, lead_id, outcome="won", amount=18000.0, close_date=clock.now().date())
    [(_, hubspot), (_, salesforce)] = [(crm, fields) for crm, _, _, fields in outbox(crm_rt, lead_id)]
    assert hubspot == {"hs_lead_status": "Closed - Converted", "leadwire_result": "won", "leadwire_won_amount": 18000.0}
    assert salesforce == {"Status": "Closed - Converted", "Leadwire_Result__c": "won", "Leadwire_Won_Amount__c": 18000.0,
                          "Leadwire_Close_Date__c": "2026-01-05"}
    with crm_rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.status, lead.won_amount, lead.closed_at.date()) == ("won", 18000.0, clock.now().date())


def test_level_3_lost_goes_back_to_nurture_keeping_its_history(crm_rt, clock):
    lead_id = lead_in_crm(crm_rt)
    clock.advance(days=2); run_tick(crm_rt)
    answer(crm_rt, lead_id, pursuit_status="in_discussion")
    clock.advance(days=3)
    answer(crm_rt, lead_id, outcome="lost", lost_reason="competitor", close_date=clock.now().date())
    hubspot, salesforce = (fields for _, _, _, fields in outbox(crm_rt, lead_id)[2:])
    assert hubspot == {"hs_lead_status": "lost", "leadwire_result": "lost", "leadwire_lost_reason": "competitor",
                       "leadwire_nurture_stream": "recycle"}
    assert salesforce == {"Status": "lost", "Leadwire_Result__c": "lost", "Leadwire_Lost_Reason__c": "competitor",
                          "Leadwire_Close_Date__c": "2026-01-10"}
    with crm_rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.status, lead.nurture_stream, lead.owner_rep_id is not None) == ("nurture", "recycle", True)
        kinds = [e.kind for e in timeline.events(s, lead_id)]
    # the whole pursuit is still there, in order, ending with the un-convert
    assert kinds[:4] == ["feedback.cadence", "feedback.scheduled", "feedback.sent", "feedback.scheduled"]
    assert kinds[-4:] == ["feedback.received", "feedback.closed", "feedback.unconverted", "feedback.cancelled"]
    clock.advance(days=60)
    assert run_tick(crm_rt)["feedback.send_due"] == 0           # nurture: no more requests


def test_status_changed_in_the_crm_counts_as_feedback(crm_rt, clock):
    lead_id = lead_in_crm(crm_rt)
    with crm_rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        got = feedback.from_crm(s, crm_rt, lead, "In Discussion", clock.now())
        assert (got.level, got.pursuit_status, got.via) == (2, "in_discussion", "crm")
        assert feedback.from_crm(s, crm_rt, lead, "in_discussion", clock.now()) is None   # the same again: no-op
        assert feedback.from_crm(s, crm_rt, lead, "Working - Contacted", clock.now()) is None
        assert timeline.events(s, lead_id)[-1].kind == "feedback.crm_ignored"
        won = feedback.from_crm(s, crm_rt, lead, "Closed Won", clock.now())
        assert (won.level, won.outcome, won.complete, lead.status) == (3, "won", False, "won")
    assert outbox(crm_rt, lead_id) == []                         # what came from the CRM is not written back
    with crm_rt.db.session() as s:
        assert len(s.scalars(select(FeedbackResponse)).all()) == 2
