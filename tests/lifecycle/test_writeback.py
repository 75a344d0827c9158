"""Every decision reaches the CRMs: the outbox drained to the strict CRM sandbox through the real SDKs, on the
shipped flows.yaml and its mappings (status, stream, score, MQL level and owner of each outcome)."""
from __future__ import annotations

import dataclasses

import pytest

from connector.capture.lifecycle import rescore_due
from connector.crm.base import Change, RetryPolicy
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.salesforce import SalesforceAdapter
from connector.demo.sandbox import Sandbox
from connector.flows.model import CrmSpec
from connector.routing import offers
from connector.store.models import Lead
from connector.sync import drain, events
from tests.support.crm import Sleeps
from tests.support.lifecycle_touch import entries, example_reps, lead_of, offers_of, outbox_of, submit

TOM_SF, TOM_HS = "0055g00000A1TWAAAA", "61012002"


@pytest.fixture(scope="module")
def sandbox_server():
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server, clock):
    sandbox_server.reset()
    sandbox_server.state.clock = clock
    yield sandbox_server
    sandbox_server.state.clock = None


@pytest.fixture
def crm_rt(make_runtime, sqlite_url, sandbox):
    """The shipped flows and mappings; the CRMs are the sandbox, reached through the vendors' SDKs."""
    env = {"HUBSPOT_ACCESS_TOKEN": "pat-sandbox", "HUBSPOT_API_BASE": sandbox.base_url,
           "SALESFORCE_INSTANCE_URL": sandbox.tls_url, "SALESFORCE_ACCESS_TOKEN": "00Dsandbox!token",
           "SALESFORCE_CA_BUNDLE": sandbox.ca_file}
    rt = make_runtime(sqlite_url, **env)
    rt.extras["crm"] = {"hubspot": HubSpotAdapter.from_env(env, retry=RetryPolicy(sleep=Sleeps())),
                        "salesforce": SalesforceAdapter.from_env(env, retry=RetryPolicy(sleep=Sleeps()))}
    sandbox.state.owners.append({"id": TOM_HS, "email": "tom.walsh@northwind-analytics.com", "firstName": "Tom",
                                 "lastName": "Walsh", "userId": 9001, "type": "PERSON", "archived": False})
    sandbox.state.users.append({"Id": TOM_SF, "Email": "tom.walsh@northwind-analytics.com", "Name": "Tom Walsh",
                                "IsActive": True})
    return rt


def drained(rt) -> None:
    for crm in ("hubspot", "salesforce"):
        report = drain.drain(rt, crm)
        assert report.parked == 0 and report.retry == 0, report


def contact(sandbox, lead: Lead) -> dict:
    return sandbox.state.contacts[lead.hubspot_id]["properties"]


def sf_lead(sandbox, lead: Lead) -> dict:
    return sandbox.state.leads[lead.salesforce_id]


def test_a_nurtured_new_lead_is_written_to_the_crm_with_its_status_and_stream(crm_rt, sandbox):
    lead_id = submit(crm_rt, "newsletter")
    drained(crm_rt)
    props = contact(sandbox, lead_of(crm_rt, lead_id))
    assert {k: props[k] for k in ("leadwire_status", "leadwire_score", "leadwire_mql_level",
                                  "leadwire_nurture_stream", "leadwire_outcome")} == {
        "leadwire_status": "nurture", "leadwire_score": "42", "leadwire_mql_level": "1",
        "leadwire_nurture_stream": "insight_nurture", "leadwire_outcome": "nurture"}
    assert lead_of(crm_rt, lead_id).salesforce_id is None  # the unqualified flow writes to HubSpot only


def test_a_rejected_new_lead_is_written_to_the_crm(crm_rt, sandbox):
    lead_id = submit(crm_rt, "newsletter", role="student", email="sam@uni.example", website="https://uni.example")
    drained(crm_rt)
    props = contact(sandbox, lead_of(crm_rt, lead_id))
    assert (props["leadwire_status"], props["leadwire_outcome"]) == ("rejected", "rejected")


def test_promotion_ownership_and_decay_each_reach_both_crms(crm_rt, sandbox, clock):
    example_reps(crm_rt)
    lead_id = submit(crm_rt, "newsletter")
    drained(crm_rt)
    clock.advance(days=7)
    submit(crm_rt, "demo_request")  # promoted: nurture → offered
    drained(crm_rt)
    lead = lead_of(crm_rt, lead_id)
    props, record = contact(sandbox, lead), sf_lead(sandbox, lead)
    assert (props["leadwire_status"], props["leadwire_score"], props["leadwire_mql_level"]) == ("offered", "64", "2")
    assert props["leadwire_nurture_stream"] == ""  # no longer nurtured (HubSpot clears with "")
    assert (record["Leadwire_Status__c"], record["Leadwire_Score__c"], record["Leadwire_MQL_Level__c"]) == (
        "offered", 64, 2)
    assert record["Leadwire_Nurture_Stream__c"] is None and record["Leadwire_Team__c"] == "na_insight"

    [offer] = offers_of(crm_rt, lead_id)
    assert offers.accept(crm_rt, offer.id).status == "accepted"
    clock.advance(days=1)
    submit(crm_rt, "contact_sales", events=[{"type": "webinar_attended"}])  # owner told
    drained(crm_rt)
    props, record = contact(sandbox, lead), sf_lead(sandbox, lead)
    assert (props["leadwire_status"], props["leadwire_score"], props["hubspot_owner_id"]) == ("accepted", "76", TOM_HS)
    assert (record["Leadwire_Status__c"], record["Leadwire_Score__c"], record["OwnerId"]) == ("accepted", 76, TOM_SF)

    while not entries(crm_rt, lead_id, "demoted"):  # the webinar's points decay: MQL 3 → 2
        clock.set(lead_of(crm_rt, lead_id).rescore_at)
        assert rescore_due(crm_rt, clock.now()) == 1
    drained(crm_rt)
    props, record = contact(sandbox, lead), sf_lead(sandbox, lead)
    assert props["leadwire_mql_level"] == "2" and record["Leadwire_MQL_Level__c"] == 2
    assert props["leadwire_status"] == "accepted" and record["OwnerId"] == TOM_SF  # still Tom's


def test_a_flow_with_crm_outcomes_off_writes_no_decision(crm_rt, sandbox):
    crm_rt.spec = dataclasses.replace(crm_rt.spec, flows=tuple(
        dataclasses.replace(f, crm=dataclasses.replace(f.crm, outcomes=False)) if f.name == "unqualified" else f
        for f in crm_rt.spec.flows))
    assert isinstance(crm_rt.spec.flow("unqualified").crm, CrmSpec)
    lead_id = submit(crm_rt, "newsletter")
    assert outbox_of(crm_rt, lead_id) == []


def test_a_crm_side_change_of_a_scored_field_decides_the_lead_again(crm_rt, sandbox, clock):
    lead_id = submit(crm_rt, "newsletter")
    drained(crm_rt)
    events.poll(crm_rt, "hubspot", clock.now())  # the echo of our write: Leadwire's baseline of the record
    clock.advance(hours=1)
    sandbox.hubspot_edit(lead_of(crm_rt, lead_id).hubspot_id, {"email": "ann.lee@rivalsec.io"})  # crm_wins
    events.poll(crm_rt, "hubspot", clock.now())
    lead = lead_of(crm_rt, lead_id)
    assert (lead.email, lead.status, lead.reject_reason) == ("ann.lee@rivalsec.io", "rejected", "competitor")
    [rescored] = entries(crm_rt, lead_id, "rescored")
    assert rescored.message == ("rescored: now rejected (competitor), stream insight_nurture → None "
                                "after hubspot change of email")
    drained(crm_rt)
    assert contact(sandbox, lead)["leadwire_status"] == "rejected"


def test_the_sandbox_refuses_a_property_the_org_does_not_have(crm_rt, sandbox):
    hubspot, salesforce = crm_rt.extras["crm"]["hubspot"], crm_rt.extras["crm"]["salesforce"]
    [bad] = hubspot.push([Change("1", {"leadwire_mood": "sunny"}, external_id="a@b.example")])
    assert not bad.ok and "PROPERTY_DOESNT_EXIST" in (bad.message or "")
    [good] = hubspot.push([Change("2", {"leadwire_status": "nurture"}, external_id="c@d.example")])
    assert good.ok
    [bad] = salesforce.push([Change("3", {"LastName": "Lee", "Company": "X", "Leadwire_Mood__c": "sunny"},
                                    external_id="3")])
    assert not bad.ok and "Leadwire_Mood__c" in (bad.message or "")


def test_a_routed_lead_reaches_the_crm_as_offered_before_anyone_accepts(crm_rt, sandbox):
    example_reps(crm_rt)
    lead_id = submit(crm_rt, "demo_request")
    drained(crm_rt)
    lead = lead_of(crm_rt, lead_id)
    assert lead.status == "offered" and lead.owner_rep_id is None
    assert contact(sandbox, lead)["leadwire_status"] == "offered"
    assert sf_lead(sandbox, lead)["Leadwire_Status__c"] == "offered"


def test_a_lead_nobody_can_take_reaches_the_crm_as_escalated(crm_rt, sandbox):
    lead_id = submit(crm_rt, "demo_request")  # no reps at all: escalated at once
    drained(crm_rt)
    lead = lead_of(crm_rt, lead_id)
    assert lead.status == "escalated"
    assert (contact(sandbox, lead)["leadwire_status"], sf_lead(sandbox, lead)["Leadwire_Status__c"]) == (
        "escalated", "escalated")
