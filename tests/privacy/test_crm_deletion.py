"""Erasing a person also deletes their records in the CRMs (HubSpot GDPR delete, Salesforce Lead delete
in the sandbox, through the real SDKs), by a job that carries lead ids only; then the CRM ids are forgotten."""
from __future__ import annotations

from sqlalchemy import select

from connector.store import writeback
from connector.store.models import Lead, TimelineEvent
from connector.sync import drain, erasure


class Recording:
    """The runtime's queue, keeping each job's arguments before running it inline."""

    def __init__(self, inner):
        self.inner, self.jobs, self.runtime = inner, [], inner.runtime

    def enqueue(self, task, *args):
        self.jobs.append((task, args))
        self.inner.enqueue(task, *args)

    def close(self):
        self.inner.close()


def test_erasure_deletes_the_person_in_both_crms_by_a_job_of_ids(runtime, synced, sandbox):
    lead_id, contact = synced("hubspot")
    with runtime.db.session() as s:
        s.get(Lead, lead_id).salesforce_id = None
    with runtime.db.session() as s:
        writeback.enqueue_lead_write(s, runtime, s.get(Lead, lead_id), crms=("salesforce",))
    drain.drain(runtime, "salesforce")
    with runtime.db.session() as s:
        record = s.get(Lead, lead_id).salesforce_id
    assert contact in sandbox.state.contacts and record in sandbox.state.leads
    runtime.queue = Recording(runtime.queue)

    counts = erasure.erase(runtime, "lead0@example.com", by="api")

    assert counts["leads"] == 1 and counts["crm_records"] == 2
    assert runtime.queue.jobs == [("privacy.crm_delete", ([lead_id],))]
    assert contact not in sandbox.state.contacts and record not in sandbox.state.leads
    with runtime.db.session() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.hubspot_id, lead.salesforce_id, lead.email) == (None, None, None)
        notes = s.scalars(select(TimelineEvent.message).where(TimelineEvent.lead_id == lead_id,
                                                              TimelineEvent.kind == "privacy.crm_delete")).all()
        assert sorted(notes) == ["The person's hubspot records were deleted",
                                 "The person's salesforce records were deleted"]


class Dropping:
    """A queue that loses every job (Redis flushed, or down when the erasure was asked for)."""

    runtime = None

    def enqueue(self, task, *args):
        raise ConnectionError("Redis is gone")

    def close(self):
        pass


def test_a_lost_or_failed_crm_deletion_is_done_by_the_tick(runtime, synced, sandbox, clock):
    lead_id, contact = synced("hubspot")
    inline, runtime.queue = runtime.queue, Dropping()
    assert erasure.erase(runtime, "lead0@example.com", by="api")["crm_records"] == 1  # answered all the same
    assert contact in sandbox.state.contacts
    runtime.queue = inline
    sandbox.set_faults(outage=True)
    assert erasure.crm_delete_due(runtime, clock.now()) == 1  # tried: HubSpot answers 503
    assert contact in sandbox.state.contacts
    sandbox.set_faults(outage=False)
    assert erasure.crm_delete_due(runtime, clock.now()) == 0  # not again before RETRY_AFTER
    clock.advance(seconds=erasure.RETRY_AFTER.total_seconds() + 1)
    assert erasure.crm_delete_due(runtime, clock.now()) == 1
    assert contact not in sandbox.state.contacts
    assert erasure.crm_delete_due(runtime, clock.now()) == 0  # done: the CRM id is forgotten
    with runtime.db.session() as s:
        notes = s.scalars(select(TimelineEvent.message).where(TimelineEvent.lead_id == lead_id,
                                                              TimelineEvent.kind == "privacy.crm_delete")
                          .order_by(TimelineEvent.id)).all()
    assert notes[0].startswith("The hubspot records could not be deleted (CrmTransientError)")
    assert notes[-1] == "The person's hubspot records were deleted"
