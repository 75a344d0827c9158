"""Nothing is lost: lost wake-ups and dead workers are retaken by the tick; re-runs make nothing twice."""
from __future__ import annotations

from sqlalchemy import func, select

from connector.capture import batch, inbox
from connector.jobs.backends import InlineQueue
from connector.jobs.tick import run_tick
from connector.store.models import InboxItem, Lead
from tests.capture.test_form_hook import ADA
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET


class DroppingQueue:
    """A queue that loses every job and wake-up, like a Redis flushed before a worker saw it."""

    def __init__(self):
        self.dropped = []

    def enqueue(self, task, *args):
        self.dropped.append((task, args))

    def wake(self, task):
        self.dropped.append((task, ()))

    def close(self):
        pass


def _statuses(rt):
    with rt.db.session() as s:
        return [row.status for row in s.execute(select(InboxItem.status))]


def _inline(rt):
    rt.queue = InlineQueue()
    rt.queue.runtime = rt


def test_lost_wake_up_is_retaken_by_the_tick(runtime, client, clock):
    runtime.queue = DroppingQueue()
    resp = post_form(client, FORM_SECRET, ADA)
    assert resp.status_code == 202 and _statuses(runtime) == ["received"]
    assert runtime.queue.dropped == [("capture.drain", ())]  # one wake-up, no job per lead
    assert run_tick(runtime)["capture.retake_stalled"] == 0  # too fresh to call stalled
    clock.advance(seconds=31)
    _inline(runtime)
    assert run_tick(runtime)["capture.retake_stalled"] == 1
    assert _statuses(runtime) == ["processed"]


def test_a_row_under_a_live_lease_is_left_until_the_lease_runs_out(runtime, client, clock):
    runtime.queue = DroppingQueue()
    inbox_id = post_form(client, FORM_SECRET, ADA).json["id"]
    with runtime.db.session() as s:  # a failed attempt leaves its lease on the row
        assert [i.id for i in batch.claim(s, clock.now(), 10)] == [inbox_id]
    batch.process(runtime, inbox_id)  # another wake-up: the live lease keeps it out
    assert _statuses(runtime) == ["received"]
    clock.advance(seconds=61)
    batch.process(runtime, inbox_id)
    assert _statuses(runtime) == ["processed"]


def test_processing_twice_makes_one_lead(runtime, client):
    inbox_id = post_form(client, FORM_SECRET, ADA).json["id"]
    batch.process(runtime, inbox_id)
    batch.process(runtime, inbox_id)
    batch.drain_task(runtime)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1


def test_crm_deliveries_are_left_to_the_sync_jobs(runtime, clock):
    now = clock.now()
    with runtime.db.session() as s:
        for channel in batch.SYNC_CHANNELS:
            s.add(InboxItem(source="hubspot", channel=channel, idempotency_key=channel, payload="{}", received_at=now))
    clock.advance(seconds=120)
    assert inbox.retake_stalled(runtime, clock.now()) == 0
    assert batch.process_batch(runtime) == 0
    assert _statuses(runtime) == ["received", "received"]
