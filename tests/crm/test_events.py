"""HubSpot events other than a plain change: merges, deletions, associations, new-style object.* events,
and event types Leadwire does not take (kept and counted, never dropped silently)."""
from __future__ import annotations

from sqlalchemy import select

from connector.store.models import InboxItem, Lead, TimelineEvent
from connector.sync import deliveries
from tests.crm.test_hooks import send


def lead_for(runtime, clock, contact_id: str, **fields) -> int:
    with runtime.db.session() as s:
        lead = Lead(source="api", flow="qualified", outcome="routed", status="new", hubspot_id=contact_id,
                    email=fields.pop("email", f"c{contact_id}@acme.example"), first_name="Pat", last_name="Lee",
                    company="Acme", score=50, mql_level=2, captured_at=clock.now(), updated_at=clock.now(), **fields)
        s.add(lead)
        s.flush()
        return lead.id


def contact(sandbox, email: str) -> str:
    return sandbox.hubspot_edit(None, {"email": email, "firstname": "Pat", "lastname": "Lee", "company": "Acme"})["id"]


def timeline_of(runtime, lead_id: int, kind: str) -> list[TimelineEvent]:
    with runtime.db.session() as s:
        return list(s.scalars(select(TimelineEvent).where(TimelineEvent.lead_id == lead_id,
                                                          TimelineEvent.kind == kind)))


def merge_event(sandbox, primary: str, merged: list[str], new: str | None = None) -> dict:
    # https://developers.hubspot.com/changelog/new-subscription-types-for-webhooks: merge payload properties
    event = sandbox.contact_event(primary, "contact.merge")
    event.update(primaryObjectId=int(primary), mergedObjectIds=[int(m) for m in merged],
                 newObjectId=int(new or primary), numberOfPropertiesMoved=3)
    return event


def test_a_merge_relinks_the_lead_to_the_surviving_contact(runtime, sandbox, live_server, clock):
    old, survivor = contact(sandbox, "a@acme.example"), contact(sandbox, "b@acme.example")
    lead_id = lead_for(runtime, clock, old)
    assert send(sandbox, live_server, [merge_event(sandbox, survivor, [old])], clock).status_code == 200
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).hubspot_id == survivor
    [entry] = timeline_of(runtime, lead_id, "crm.merged")
    assert f"now contact {survivor} (was {old})" in entry.message


def test_a_merge_of_two_known_contacts_merges_their_leads(runtime, sandbox, live_server, clock):
    primary, secondary = contact(sandbox, "a@acme.example"), contact(sandbox, "b@acme.example")
    keep = lead_for(runtime, clock, primary, title=None)
    other = lead_for(runtime, clock, secondary, title="CTO", email="b@acme.example")
    send(sandbox, live_server, [merge_event(sandbox, primary, [secondary])], clock)
    with runtime.db.session() as s:
        kept, merged = s.get(Lead, keep), s.get(Lead, other)
        assert (kept.hubspot_id, kept.title) == (primary, "CTO")  # the other lead's fields merged in
        assert (merged.status, merged.duplicate_of_id, merged.hubspot_id) == ("duplicate", keep, None)
    assert "merged into lead" in timeline_of(runtime, other, "crm.merged")[0].message


def test_a_deletion_and_an_association_change_are_recorded_on_the_timeline(runtime, sandbox, live_server, clock):
    cid = contact(sandbox, "a@acme.example")
    lead_id = lead_for(runtime, clock, cid)
    association = sandbox.contact_event(cid, "contact.associationChange")
    association.update(associationType="CONTACT_TO_COMPANY", fromObjectId=int(cid), toObjectId=987,
                       associationRemoved=False, isPrimaryAssociation=True)
    send(sandbox, live_server, [association, sandbox.contact_event(cid, "contact.deletion")], clock)
    [linked] = timeline_of(runtime, lead_id, "crm.association")
    assert linked.message == "HubSpot added CONTACT_TO_COMPANY with object 987"
    assert "was deleted (the lead is kept)" in timeline_of(runtime, lead_id, "crm.deleted")[0].message
    assert sandbox.calls("batch/read") == 0  # neither needs the contact read


def test_new_style_object_events_of_contacts_are_taken_like_contact_events(runtime, sandbox, live_server, clock):
    cid = contact(sandbox, "new.style@acme.example")
    event = sandbox.contact_event(cid, "object.creation")
    event["objectTypeId"] = "0-1"
    company = sandbox.contact_event("555", "object.creation")
    company["objectTypeId"] = "0-2"  # a company: not a contact event
    send(sandbox, live_server, [event, company], clock)
    with runtime.db.session() as s:
        assert [lead.email for lead in s.scalars(select(Lead))] == ["new.style@acme.example"]


def test_unknown_event_types_are_kept_and_counted(runtime, sandbox, live_server, clock):
    cid = contact(sandbox, "a@acme.example")
    odd = sandbox.contact_event(cid, "contact.somethingNew")
    send(sandbox, live_server, [odd], clock)
    with runtime.db.session() as s:
        [row] = s.scalars(select(InboxItem).where(InboxItem.channel == "hubspot-delivery")).all()
        assert row.status == "processed" and row.record["items"] == [odd]  # kept as it came
        assert row.errors == [{"field": "subscriptionType",
                               "problem": "contact.somethingNew: not a contact event Leadwire takes; kept here, "
                                          "not applied"}]
    assert sandbox.calls("batch/read") == 0


def test_the_job_counts_what_each_event_did(runtime, sandbox, clock):
    runtime.queue.enqueue = lambda *args: None  # taken below, by hand
    cid, other = contact(sandbox, "a@acme.example"), contact(sandbox, "b@acme.example")
    lead_for(runtime, clock, cid)
    items = deliveries.hubspot_items([sandbox.contact_event(cid, "contact.deletion"),
                                      sandbox.contact_event(other, "contact.creation"),
                                      sandbox.contact_event(cid, "contact.restoreLater")])
    deliveries.receive(runtime, "hubspot", b"[]", items)
    counts = deliveries.take(runtime, "hubspot")
    assert {k: counts[k] for k in ("deliveries", "events", "deleted", "captured", "unknown")} == {
        "deliveries": 1, "events": 3, "deleted": 1, "captured": 1, "unknown": 1}


def test_a_privacy_deletion_erases_the_person(runtime, sandbox, live_server, clock):
    cid = contact(sandbox, "dana@acme.example")
    send(sandbox, live_server, [sandbox.contact_event(cid, "contact.creation")], clock)  # captured from HubSpot
    with runtime.db.session() as s:
        [lead] = s.scalars(select(Lead)).all()
        assert lead.email == "dana@acme.example"
    reads = sandbox.calls("batch/read")
    sandbox.state.contacts.pop(cid)  # HubSpot deleted the contact for privacy
    # a privacy deletion also sends contact.deletion (see the changelog in sync/events.py)
    send(sandbox, live_server, [sandbox.contact_event(cid, "contact.privacyDeletion"),
                                sandbox.contact_event(cid, "contact.deletion")], clock)
    assert sandbox.calls("batch/read") == reads  # an erased contact is not read again
    with runtime.db.session() as s:
        erased = s.get(Lead, lead.id)
        assert (erased.email, erased.first_name, erased.last_name) == (None, None, None)
        rows = s.scalars(select(InboxItem).where(InboxItem.channel == "hubspot")).all()
        assert all("dana@acme.example" not in (r.payload or "") and r.record is None for r in rows)
    assert [e.kind for e in timeline_of(runtime, lead.id, "privacy.erased")] == ["privacy.erased"]
