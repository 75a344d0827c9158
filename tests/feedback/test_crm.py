"""Each level's answers reach the CRM outbox through the flow's mapping; CRM status changes count as feedback;
a lost lead is un-converted into the nurture stream with its history kept."""
import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.flows.model import CrmSpec
from connector.flows.pursuit import make_answers
from connector.flows.sections import parse_crm_mapping
from connector.flows.yamlsrc import Problems
from connector.jobs.tick import run_tick
from connector.pursuit import answers
from connector.store import timeline
from connector.store.models import FeedbackResponse, Lead, OutboxItem
from tests.support.pursuit import accept_lead, add_rep

REPO = Path(__file__).resolve().parents[2]
WORKING = "Working - Contacted"
CRM_STATUS = {  # the vendors' default picklists, as the sandbox enforces them
    "salesforce": {"attempting_contact": WORKING, "in_discussion": WORKING, "quote_sent": WORKING,
                   "won": "Closed - Converted", "lost": "Closed - Not Converted"},
    "hubspot": {"attempting_contact": "ATTEMPTED_TO_CONTACT", "in_discussion": "IN_PROGRESS", "quote_sent": "OPEN_DEAL",
                "won": "", "lost": "UNQUALIFIED"},
}


@pytest.fixture
def crm_rt(fb_rt):
    """The test flows, writing back through the shipped CRM mapping files; leads already exist in both CRMs."""
    problems = Problems()
    crm = CrmSpec(**{name: parse_crm_mapping(REPO / "mappings" / f"crm_{name}_{obj}.yaml", f"{name}.yaml", problems, {})
                     for name, obj in (("hubspot", "contact"), ("salesforce", "lead"))})
    problems.raise_if_any()
    fb_rt.spec = dataclasses.replace(fb_rt.spec, flows=tuple(
        dataclasses.replace(f, crm=crm, feedback=dataclasses.replace(f.feedback, crm_status=CRM_STATUS))
        for f in fb_rt.spec.flows))
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
        answers.record(s, rt, lead, lead.owner_rep_id, make_answers(**values), rt.clock.now())


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
        ("hubspot", {"hs_lead_status": "OPEN_DEAL"}), ("salesforce", {"Status": WORKING})]
    answer(crm_rt, lead_id, pursuit_status="nurturing")            # not in crm_status: written by its name
    assert outbox(crm_rt, lead_id)[-1][3] == {"Status": "nurturing"}


def test_level_3_won_writes_the_configured_status_and_amount(crm_rt, clock):
    lead_id = lead_in_crm(crm_rt)
    answer(crm_rt, lead_id, outcome="won", amount=18000.0, close_date=clock.now().date())
    [(_, hubspot), (_, salesforce)] = [(crm, fields) for crm, _, _, fields in outbox(crm_rt, lead_id)]
    assert hubspot == {"leadwire_result": "won", "leadwire_won_amount": 18000.0,   # "": HubSpot's status left as is
                       "leadwire_status": "won"}                                   # Leadwire's own status
    assert salesforce == {"Status": "Closed - Converted", "Leadwire_Result__c": "won", "Leadwire_Won_Amount__c": 18000.0,
                          "Leadwire_Close_Date__c": "2026-01-05", "Leadwire_Status__c": "won"}
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
    assert hubspot == {"hs_lead_status": "UNQUALIFIED", "leadwire_result": "lost", "leadwire_lost_reason": "competitor",
                       "leadwire_nurture_stream": "recycle", "leadwire_status": "nurture"}
    assert salesforce == {"Status": "Closed - Not Converted", "Leadwire_Result__c": "lost", "Leadwire_Lost_Reason__c": "competitor",
                          "Leadwire_Close_Date__c": "2026-01-10", "Leadwire_Status__c": "nurture",
                          "Leadwire_Nurture_Stream__c": "recycle"}
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
        got = answers.from_crm(s, crm_rt, lead, "In Discussion", clock.now())        # by the status's name
        assert (got.level, got.pursuit_status, got.via) == (2, "in_discussion", "crm")
        assert answers.from_crm(s, crm_rt, lead, "in_discussion", clock.now()) is None   # the same again: no-op
        assert answers.from_crm(s, crm_rt, lead, WORKING, clock.now()) is None           # maps to the same
        assert answers.from_crm(s, crm_rt, lead, "OPEN_DEAL", clock.now()).pursuit_status == "quote_sent"
        assert answers.from_crm(s, crm_rt, lead, "Open - Not Contacted", clock.now()) is None
        assert timeline.events(s, lead_id)[-1].kind == "feedback.crm_ignored"
        won = answers.from_crm(s, crm_rt, lead, "Closed - Converted", clock.now())
        assert (won.level, won.outcome, won.complete, lead.status) == (3, "won", False, "won")
    assert outbox(crm_rt, lead_id) == []                         # what came from the CRM is not written back
    with crm_rt.db.session() as s:
        assert len(s.scalars(select(FeedbackResponse)).all()) == 3


def test_crm_status_names_unknown_statuses_at_their_line(tmp_path):
    from connector.flows.sections import parse_feedback
    from connector.flows.yamlsrc import LDict, load_yaml

    path = tmp_path / "f.yaml"
    path.write_text("feedback:\n  statuses: [open, talking]\n  crm_status:\n    salesforce:\n      talkng: Working\n")
    problems = Problems()
    node = load_yaml(path, "f.yaml", problems, {})
    parse_feedback(node["feedback"], node, (), problems)
    assert [str(p) for p in problems.items] == [
        "f.yaml:5: crm_status.salesforce: 'talkng' is not a status of this flow, won or lost (did you mean \"talking\"?)"]
    assert isinstance(node, LDict)
