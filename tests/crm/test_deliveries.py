"""CRM deliveries go through the inbox: committed and answered at once, read later in batches, kept
through a CRM API outage and taken once the API is back."""
from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from connector.commands.flows_cmd import simulate
from connector.demo.sandbox.senders import is_ack
from connector.jobs.backends import run_task
from connector.jobs.tick import run_tick
from connector.store.models import InboxItem, Lead
from tests.crm.test_hooks import outbound, send
from tests.support.crm import ORG_ID
from tests.support.runtime import REPO


class Deferred:
    """A queue that keeps its jobs until run() (a worker that has not got to them yet)."""

    def __init__(self, runtime):
        self.runtime, self.jobs = runtime, []

    def enqueue(self, task, *args):
        self.jobs.append((task, args))

    def wake(self, task):
        self.jobs.append((task, ()))

    def run(self):
        jobs, self.jobs = self.jobs, []
        for task, args in jobs:
            run_task(self.runtime, task, *args)

    def close(self):
        pass


def deliveries(runtime):
    with runtime.db.session() as s:
        return [(r.status, r.errors) for r in s.scalars(
            select(InboxItem).where(InboxItem.channel == "hubspot-delivery").order_by(InboxItem.id))]


def leads(runtime):
    with runtime.db.session() as s:
        return list(s.scalars(select(Lead).order_by(Lead.id)))


def test_a_delivery_is_answered_without_calling_hubspot_and_deliveries_share_one_batch_read(
        runtime, sandbox, live_server, clock):
    runtime.queue = worker = Deferred(runtime)
    ids = [sandbox.hubspot_edit(None, {"email": f"p{i}@acme.example", "firstname": "Pat", "lastname": f"L{i}",
                                       "company": "Acme"})["id"] for i in range(2)]
    for cid in ids:  # two deliveries, one contact each
        answer = send(sandbox, live_server, [sandbox.contact_event(cid, "contact.creation")], clock)
        assert answer.status_code == 200 and answer.json()["events"] == 1
    assert sandbox.calls("hubspot") == 0  # nothing read before answering
    assert [status for status, _ in deliveries(runtime)] == ["received", "received"]
    assert worker.jobs == [("sync.deliveries", ("hubspot",))] * 2
    worker.run()
    assert sandbox.calls("batch/read") == 1  # both deliveries' contacts in one read
    assert [status for status, _ in deliveries(runtime)] == ["processed", "processed"]
    worker.run()  # capture.process of the two new leads
    assert sorted(lead.email for lead in leads(runtime)) == ["p0@acme.example", "p1@acme.example"]


def test_a_delivery_whose_job_was_lost_is_taken_by_the_tick(runtime, sandbox, live_server, clock):
    runtime.queue = worker = Deferred(runtime)
    cid = sandbox.hubspot_edit(None, {"email": "lost@acme.example", "firstname": "Lo", "lastname": "St"})["id"]
    send(sandbox, live_server, [sandbox.contact_event(cid, "contact.creation")], clock)
    worker.jobs.clear()  # the worker died with the job
    assert run_tick(runtime)["sync.retake_deliveries"] == 0  # within the grace period: its job may still run
    clock.advance(seconds=31)
    assert run_tick(runtime)["sync.retake_deliveries"] == 1
    worker.run()
    worker.run()
    assert [lead.email for lead in leads(runtime)] == ["lost@acme.example"]


FULL_CONTACT = {"email": "dana.kim@fincorp.example", "firstname": "dana", "lastname": "kim", "company": "FinCorp",
                "jobtitle": "CFO", "phone": "+1 415 555 0100", "city": "San Francisco", "state": "CA",
                "country": "US", "zip": "94105", "industry": "Finance", "numemployees": "1200",
                "hs_seniority": "executive", "recent_conversion_event_name": "demo_request",
                "purchase_timeframe": "this_quarter", "product_interest": "insight", "website": "fincorp.example"}
CUSTOM = ("hs_seniority", "recent_conversion_event_name", "purchase_timeframe", "product_interest")


def simulated(tmp_path, contact_id: str, properties: dict) -> dict:
    """`leadwire simulate --source hubspot` on the contact as HubSpot's v3 API shows it."""
    path = tmp_path / "contact.jsonl"
    path.write_text(json.dumps({"id": contact_id, "properties": properties}) + "\n")
    result = CliRunner().invoke(simulate, [str(path), "--flows", str(REPO / "flows.yaml"), "--source", "hubspot",
                                           "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.splitlines()[0])


def test_a_contact_delivered_during_an_outage_is_captured_with_every_mapped_property_once_the_api_returns(
        runtime, sandbox, live_server, clock, tmp_path):
    sandbox.state.schema["hubspot"].update(CUSTOM)  # the portal's own properties the source mapping reads
    cid = sandbox.hubspot_edit(None, FULL_CONTACT)["id"]
    sandbox.set_faults(outage=True)
    answer = send(sandbox, live_server, [sandbox.contact_event(cid, "contact.creation")], clock)
    assert answer.status_code == 200  # acknowledged: HubSpot will not redeliver, and nothing is lost
    [(status, errors)] = deliveries(runtime)
    assert status == "received" and "waiting for the CRM" in errors[0]["problem"] and leads(runtime) == []
    sandbox.set_faults(outage=False)
    clock.advance(seconds=10)
    assert run_tick(runtime)["sync.retake_deliveries"] == 0  # backing off like the outbox
    clock.advance(seconds=25)
    assert run_tick(runtime)["sync.retake_deliveries"] == 1
    assert [status for status, _ in deliveries(runtime)] == ["processed"]
    [lead] = leads(runtime)
    assert (lead.title, lead.city, lead.region, lead.postal_code, lead.timing, lead.product) == (
        "CFO", "San Francisco", "US-CA", "94105", "this_quarter", "insight")
    assert {k: lead.attributes[k] for k in ("industry", "employees", "role", "form")} == {
        "industry": "finance", "employees": 1200, "role": "executive", "form": "demo_request"}
    expected = simulated(tmp_path, cid, sandbox.state.contacts[cid]["properties"])
    assert (lead.score, lead.mql_level, lead.outcome) == (expected["score"], expected["mql_level"],
                                                          expected["outcome"])
    assert lead.score >= 70 and lead.mql_level == 3


def test_an_outbound_message_during_a_salesforce_outage_is_acked_and_taken_later(runtime, sandbox, live_server, clock):
    rid = sandbox.salesforce_edit(None, {"LastName": "Ng", "FirstName": "Ada", "Company": "Acme",
                                         "Email": "ada.ng@acme.example", "Title": "VP Data"})["Id"]
    sandbox.set_faults(outage=True)
    assert is_ack(outbound(sandbox, live_server, sandbox.outbound_message(ORG_ID, [rid])))
    with runtime.db.session() as s:
        [row] = s.scalars(select(InboxItem).where(InboxItem.channel == "salesforce-delivery")).all()
        assert row.status == "received" and leads(runtime) == []
    sandbox.set_faults(outage=False)
    clock.advance(seconds=31)
    assert run_tick(runtime)["sync.retake_deliveries"] == 1
    [lead] = leads(runtime)
    assert (lead.email, lead.title, lead.salesforce_id) == ("ada.ng@acme.example", "VP Data", rid)
