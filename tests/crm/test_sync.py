"""The outbox drained to both CRMs through the real SDKs: batching, coalescing, parking, faults."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from connector.store import writeback
from connector.store.models import Lead, OutboxItem, TimelineEvent
from connector.sync import drain


def enqueue(runtime, lead_ids, fields=None, **kwargs):
    with runtime.db.session() as s:
        for lead_id in lead_ids:
            writeback.enqueue_lead_write(s, runtime, s.get(Lead, lead_id), fields, **kwargs)


def outbox(runtime, **where):
    with runtime.db.session() as s:
        query = select(OutboxItem)
        for k, v in where.items():
            query = query.where(getattr(OutboxItem, k) == v)
        return list(s.scalars(query))


def lead(runtime, lead_id):
    with runtime.db.session() as s:
        return s.get(Lead, lead_id)


def test_a_new_lead_is_created_in_both_crms_with_its_mapped_fields(runtime, sandbox, make_leads, rep):
    (lead_id,) = make_leads(1, owner_rep_id=rep)
    enqueue(runtime, [lead_id])
    assert drain.drain(runtime, "salesforce").sent == 1 and drain.drain(runtime, "hubspot").sent == 1
    stored = lead(runtime, lead_id)
    sf = sandbox.state.leads[stored.salesforce_id]
    assert (sf["LastName"], sf["Company"], sf["Leadwire_Score__c"], sf["Leadwire_Id__c"]) == ("Lead0", "Acme", 50, str(lead_id))
    assert sf["OwnerId"] == sandbox.state.users[0]["Id"]
    hs = sandbox.state.contacts[stored.hubspot_id]["properties"]
    assert (hs["email"], hs["leadwire_score"], hs["hubspot_owner_id"]) == ("lead0@example.com", "50", sandbox.state.owners[0]["id"])


def test_drains_use_the_largest_batches_each_api_allows(runtime, sandbox, make_leads):
    ids = make_leads(450)
    enqueue(runtime, ids)
    assert drain.drain(runtime, "salesforce").batches == 3
    assert drain.drain(runtime, "hubspot").batches == 5
    assert sandbox.calls("salesforce PATCH") == 3 and sandbox.calls("hubspot POST") == 5
    assert len(sandbox.state.leads) == 450 and len(sandbox.state.contacts) == 450


def test_several_changes_to_one_record_become_one_write(runtime, sandbox, make_leads, rep):
    (lead_id,) = make_leads(1)
    enqueue(runtime, [lead_id])
    drain.drain(runtime, "salesforce")
    with runtime.db.session() as s:
        row = s.get(Lead, lead_id)
        row.owner_rep_id = rep
        writeback.enqueue_lead_write(s, runtime, row, reason="owner")
        writeback.enqueue_lead_write(s, runtime, row, {"score": 80})
        writeback.enqueue_lead_write(s, runtime, row, {"feedback.pursuit_status": "meeting_set"})
        writeback.enqueue_lead_write(s, runtime, row, {"score": 90})
    report = drain.drain(runtime, "salesforce")
    assert report.sent == 1 and report.batches == 1
    sf_id = lead(runtime, lead_id).salesforce_id
    record = sandbox.state.leads[sf_id]
    assert (record["Leadwire_Score__c"], record["Status"], record["OwnerId"]) == (90, "meeting_set", sandbox.state.users[0]["Id"])
    assert sandbox.stats()["writes"][f"salesforce:{sf_id}"] == 2  # the create, then one coalesced update
    assert {r.status for r in outbox(runtime, crm="salesforce")} == {"sent"}


def test_a_refused_record_is_parked_with_the_crm_message_and_the_rest_go_through(runtime, sandbox, make_leads):
    ids = make_leads(3)
    enqueue(runtime, ids)
    drain.drain(runtime, "salesforce")
    enqueue(runtime, ids[:2], {"feedback.pursuit_status": "meeting_set"})
    enqueue(runtime, ids[2:], {"feedback.pursuit_status": "Sleeping"})
    report = drain.drain(runtime, "salesforce")
    assert (report.sent, report.parked) == (2, 1)
    (parked,) = outbox(runtime, status="parked")
    assert parked.lead_id == ids[2] and "bad value for restricted picklist field: Sleeping" in parked.last_error
    with runtime.db.session() as s:
        assert drain.status(s)["salesforce"] == {"pending": 0, "failed": 0, "parked": 1, "sent": 5}
        kinds = s.scalars(select(TimelineEvent.kind).where(TimelineEvent.lead_id == ids[2])).all()
    assert "crm.parked" in kinds
    sandbox.state.picklists["Lead.Status"].add("Sleeping")  # an admin adds the value to the picklist
    with runtime.db.session() as s:
        assert drain.retry_parked(s, runtime.clock.now()) == 1
    assert drain.drain(runtime, "salesforce").sent == 1
    assert sandbox.state.leads[lead(runtime, ids[2]).salesforce_id]["Status"] == "Sleeping"


def test_an_outage_mid_drain_loses_nothing_and_writes_nothing_twice(runtime, sandbox, make_leads, clock):
    ids = make_leads(450)
    enqueue(runtime, ids)
    sandbox.set_faults(outage_after=1)  # the first batch gets through, then the CRM goes down
    first = drain.drain(runtime, "salesforce")
    assert first.sent == 200 and first.retry == 200  # the failed batch waits; the third is not tried this round
    with runtime.db.session() as s:
        counts = drain.status(s)["salesforce"]
    assert counts["sent"] == 200 and counts["failed"] == 200 and counts["pending"] == 50
    sandbox.set_faults(outage=False)
    clock.advance(minutes=10)
    second = drain.drain(runtime, "salesforce")
    assert second.sent == 250
    assert len(sandbox.state.leads) == 450
    assert set(sandbox.stats()["writes"].values()) == {1}
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead).where(Lead.salesforce_id.is_(None))) == 0


def test_a_429_storm_during_a_drain_is_waited_out(runtime, sandbox, make_leads, sleeps):
    ids = make_leads(150)
    enqueue(runtime, ids, crms=("hubspot",))
    sandbox.set_faults(rate_limit_storm=2)
    report = drain.drain(runtime, "hubspot")
    assert report.sent == 150 and sleeps == [10.0, 10.0]  # HubSpot's ten-second window, no Retry-After
    assert len(sandbox.state.contacts) == 150


def test_request_limit_exceeded_defers_the_batch_without_blocking(runtime, sandbox, make_leads, sleeps, clock):
    ids = make_leads(5)
    enqueue(runtime, ids, crms=("salesforce",))
    sandbox.set_faults(salesforce_api_used=15000)
    report = drain.drain(runtime, "salesforce")
    assert report.retry == 5 and sleeps == []
    rows = outbox(runtime)
    assert all(r.status == "pending" and "REQUEST_LIMIT_EXCEEDED" in r.last_error for r in rows)
    assert all(r.next_attempt_at == clock.now() + timedelta(seconds=300) for r in rows)
    assert drain.drain(runtime, "salesforce").batches == 0  # not due yet
    sandbox.set_faults(salesforce_api_used=0)
    clock.advance(minutes=6)
    assert drain.drain(runtime, "salesforce").sent == 5


def test_a_crashed_drain_is_taken_up_again_after_its_lease(runtime, sandbox, make_leads, clock):
    ids = make_leads(3)
    enqueue(runtime, ids, crms=("hubspot",))
    groups = drain._claim(runtime, "hubspot", 100, clock.now(), known=False)  # a worker claims, then dies
    assert len(groups) == 3
    assert drain.drain(runtime, "hubspot").batches == 0
    clock.advance(minutes=6)
    assert drain.drain(runtime, "hubspot").sent == 3


def test_the_tick_queues_drains_for_due_rows(runtime, sandbox, make_leads):
    from connector.jobs.tick import run_tick

    ids = make_leads(2)
    enqueue(runtime, ids)
    done = run_tick(runtime)
    assert done["sync.drain_due"] == 4
    assert len(sandbox.state.leads) == 2 and len(sandbox.state.contacts) == 2


def test_a_record_with_nothing_to_match_it_by_is_parked_not_stuck(runtime, sandbox, make_leads):
    ids = make_leads(2)
    enqueue(runtime, ids, crms=("hubspot",))
    with runtime.db.session() as s:
        s.get(Lead, ids[0]).email = None  # removed before the drain: HubSpot upserts by e-mail
    report = drain.drain(runtime, "hubspot")
    assert (report.sent, report.parked) == (1, 1)
    (parked,) = outbox(runtime, status="parked")
    assert parked.lead_id == ids[0] and "nothing to match" in parked.last_error
