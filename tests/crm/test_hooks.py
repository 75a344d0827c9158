"""POST /hooks/hubspot and /hooks/salesforce over real HTTP, with the sandbox as the sender."""
from __future__ import annotations

import requests
from sqlalchemy import func, select

from connector.demo.sandbox.senders import is_ack
from connector.store.models import InboxItem, Lead, Rep, SeenEvent, TimelineEvent
from tests.support.crm import HUBSPOT_SECRET, ORG_ID, OUTBOUND_KEY, PUBLIC_URL

SIGNED_URI = PUBLIC_URL + "/hooks/hubspot"


def now_ms(clock) -> int:
    return int(clock.now().timestamp() * 1000)


def count(runtime, model, *where) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def send(sandbox, live_server, events, clock, **kwargs):
    options = {"client_secret": HUBSPOT_SECRET, "signed_uri": SIGNED_URI, "timestamp_ms": now_ms(clock), **kwargs}
    return sandbox.send_hubspot_webhook(live_server + "/hooks/hubspot", events, **options)


def delivery_rows(runtime, crm="hubspot"):
    with runtime.db.session() as s:
        return [(r.status, len(r.record["items"])) for r in s.scalars(
            select(InboxItem).where(InboxItem.channel == f"{crm}-delivery").order_by(InboxItem.id))]


def test_new_contacts_are_read_in_one_batch_and_captured_once(runtime, sandbox, live_server, clock):
    ids = [sandbox.hubspot_edit(None, {"email": f"c{i}@example.com", "firstname": "C", "lastname": f"N{i}",
                                       "company": "Acme"})["id"] for i in range(3)]
    events = [sandbox.contact_event(cid, "contact.creation") for cid in ids]
    first = send(sandbox, live_server, events, clock)
    assert first.status_code == 200 and first.json()["events"] == 3 and first.json()["duplicates"] == 0
    assert delivery_rows(runtime) == [("processed", 3)]  # one inbox row for the batch, taken by its job
    assert sandbox.calls("batch/read") == 1 and sandbox.calls("hubspot GET") == 0
    with runtime.db.session() as s:
        rows = s.scalars(select(InboxItem).where(InboxItem.channel == "hubspot")).all()
        assert sorted(r.record["id"] for r in rows) == sorted(ids)
        assert rows[0].record["properties"]["email"].endswith("@example.com")
    again = send(sandbox, live_server, events, clock)  # HubSpot redelivers the same batch
    assert again.status_code == 200 and again.json() == {"inbox_id": None, "events": 3, "duplicates": 3}
    assert sandbox.calls("batch/read") == 1 and delivery_rows(runtime) == [("processed", 3)]
    assert count(runtime, InboxItem, InboxItem.channel == "hubspot") == 3
    assert count(runtime, SeenEvent, SeenEvent.kind == "hubspot") == 3


def test_an_owner_change_in_hubspot_reaches_the_lead_and_our_echo_does_not(runtime, sandbox, live_server, clock,
                                                                             synced, rep):
    lead_id, contact_id = synced("hubspot", owner_rep_id=rep)
    ours = sandbox.contact_event(contact_id, "contact.creation", change_source="INTEGRATION")
    echo = send(sandbox, live_server, [ours], clock)
    assert echo.status_code == 200
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).owner_rep_id == rep
        assert not s.scalars(select(TimelineEvent).where(TimelineEvent.lead_id == lead_id,
                                                         TimelineEvent.kind.like("crm.%"))).all()
    other = sandbox.state.add_owner("omar@example.com", "Omar")
    with runtime.db.session() as s:
        s.add(Rep(email="omar@example.com", name="Omar", created_at=clock.now(), hubspot_owner_id=other["id"]))
    sandbox.hubspot_edit(contact_id, {"hubspot_owner_id": other["id"]})
    event = sandbox.contact_event(contact_id, property_name="hubspot_owner_id", property_value=other["id"])
    assert send(sandbox, live_server, [event], clock).status_code == 200
    with runtime.db.session() as s:
        assert s.get(Rep, s.get(Lead, lead_id).owner_rep_id).name == "Omar"


def test_bad_stale_and_wrong_uri_signatures_are_refused_before_anything_is_read(runtime, sandbox, live_server, clock):
    cid = sandbox.hubspot_edit(None, {"email": "x@example.com"})["id"]
    events = [sandbox.contact_event(cid, "contact.creation")]
    bad = send(sandbox, live_server, events, clock, client_secret="not-the-secret")
    stale = send(sandbox, live_server, events, clock, timestamp_ms=now_ms(clock) - 6 * 60 * 1000)
    internal = send(sandbox, live_server, events, clock, signed_uri=live_server + "/hooks/hubspot")
    assert [r.status_code for r in (bad, stale, internal)] == [401, 401, 401]
    assert "5 minutes" in stale.json()["error"] and "does not match" in internal.json()["error"]
    assert sandbox.calls("batch/read") == 0 and count(runtime, SeenEvent) == 0
    assert send(sandbox, live_server, events, clock, version="v1").status_code == 401  # v1 only where enabled


def outbound(sandbox, live_server, body: bytes, key: str = OUTBOUND_KEY):
    return sandbox.send_outbound_message(f"{live_server}/hooks/salesforce?key={key}", body)


def test_an_outbound_message_is_acked_after_commit_and_deduplicated(runtime, sandbox, live_server):
    lead_ids = [sandbox.salesforce_edit(None, {"LastName": f"N{i}", "Company": "Acme",
                                               "Email": f"n{i}@acme.example"})["Id"] for i in range(2)]
    body = sandbox.outbound_message(ORG_ID, lead_ids)
    answer = outbound(sandbox, live_server, body)
    assert is_ack(answer) and answer.headers["Content-Type"].startswith("text/xml")
    assert delivery_rows(runtime, "salesforce") == [("processed", 2)]
    assert count(runtime, InboxItem, InboxItem.channel == "salesforce") == 2
    assert is_ack(outbound(sandbox, live_server, body))  # redelivered: acked again, stored once
    assert delivery_rows(runtime, "salesforce") == [("processed", 2)]
    assert count(runtime, InboxItem, InboxItem.channel == "salesforce") == 2
    assert count(runtime, SeenEvent, SeenEvent.kind == "sf-outbound") == 2


def test_outbound_messages_need_the_key_and_our_org(runtime, sandbox, live_server):
    rid = sandbox.salesforce_edit(None, {"LastName": "N", "Company": "Acme"})["Id"]
    wrong_key = outbound(sandbox, live_server, sandbox.outbound_message(ORG_ID, [rid]), key="guess")
    wrong_org = outbound(sandbox, live_server, sandbox.outbound_message("00D999999999999AAA", [rid]))
    assert (wrong_key.status_code, wrong_org.status_code) == (401, 403)
    assert not is_ack(wrong_key) and "OrganizationId" in wrong_org.text
    assert count(runtime, InboxItem) == 0


def test_an_outbound_message_about_an_opportunity_is_refused_with_a_fault_saying_why(runtime, sandbox, live_server):
    rid = sandbox.salesforce_edit(None, {"LastName": "N", "Company": "Acme"})["Id"]
    body = sandbox.outbound_message(ORG_ID, [rid]).replace(b'xsi:type="sf:Lead"', b'xsi:type="sf:Opportunity"')
    answer = outbound(sandbox, live_server, body)
    assert answer.status_code == 400 and not is_ack(answer)
    assert "<faultstring>" in answer.text and "is about an Opportunity, not a Lead" in answer.text
    assert count(runtime, InboxItem) == 0 and count(runtime, Lead) == 0


def test_hostile_xml_is_refused(runtime, sandbox, live_server):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><x>&lol2;</x></soapenv:Envelope>")
    answer = outbound(sandbox, live_server, bomb)
    assert answer.status_code == 400 and "EntitiesForbidden" in answer.text


def test_a_rep_status_change_by_outbound_message_counts_as_feedback(runtime, sandbox, live_server, synced, rep, clock):
    from connector.store.models import FeedbackResponse

    lead_id, sf_id = synced("salesforce", owner_rep_id=rep)
    assert is_ack(outbound(sandbox, live_server, sandbox.outbound_message(ORG_ID, [sf_id])))  # our own write: echo
    clock.advance(hours=2)
    sandbox.salesforce_edit(sf_id, {"Status": "demo_done"})
    assert is_ack(outbound(sandbox, live_server, sandbox.outbound_message(ORG_ID, [sf_id])))
    with runtime.db.session() as s:
        response = s.scalars(select(FeedbackResponse).where(FeedbackResponse.lead_id == lead_id)).one()
    assert (response.via, response.pursuit_status) == ("crm", "demo_done")


def test_the_sandbox_admin_api_switches_faults_and_counts(sandbox):
    assert requests.post(sandbox.base_url + "/_sandbox/faults", json={"latency_ms": 0, "outage": True}).ok
    assert requests.post(sandbox.base_url + "/_sandbox/faults", json={"nonsense": 1}).status_code == 400
    refused = requests.get(sandbox.base_url + "/crm/v3/owners/", headers={"Authorization": "Bearer tok"})
    assert refused.status_code == 503 and refused.json()["status"] == "error"
    stats = requests.get(sandbox.base_url + "/_sandbox/stats").json()
    assert stats["calls"] == {"hubspot GET /crm/v3/owners/": 1}
    requests.post(sandbox.base_url + "/_sandbox/reset")
    assert requests.get(sandbox.base_url + "/_sandbox/faults").json()["outage"] is False
