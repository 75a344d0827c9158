"""Nothing is lost: lost jobs and dead workers are retaken by the tick; re-runs make nothing twice."""
from __future__ import annotations

from sqlalchemy import func, select

from connector.capture import inbox
from connector.jobs.tick import run_tick
from connector.store.models import InboxItem, Lead
from tests.capture.test_form_hook import ADA
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET


class DroppingQueue:
    """A queue that loses every job, like a Redis flushed before a worker saw it."""

    def __init__(self):
        self.dropped = []

    def enqueue(self, task, *args):
        self.dropped.append((task, args))

    def close(self):
        pass


def _statuses(rt):
    with rt.db.session() as s:
        return [row.status for row in s.execute(select(InboxItem.status))]


def test_lost_job_is_retaken_by_the_tick(runtime, client, clock):
    from connector.jobs.backends import InlineQueue

    runtime.queue = DroppingQueue()
    resp = post_form(client, FORM_SECRET, ADA)
    assert resp.status_code == 202 and _statuses(runtime) == ["received"]
    assert run_tick(runtime)["capture.retake_stalled"] == 0  # too fresh to call stalled
    clock.advance(seconds=31)
    runtime.queue = InlineQueue()
    runtime.queue.runtime = runtime
    assert run_tick(runtime)["capture.retake_stalled"] == 1
    assert _statuses(runtime) == ["processed"]


def test_worker_killed_mid_job_is_retaken_after_its_lease(runtime, client, clock):
    runtime.queue = DroppingQueue()
    inbox_id = post_form(client, FORM_SECRET, ADA).json["id"]
    assert inbox._take_lease(runtime, inbox_id, clock.now())  # a worker takes it, then dies
    inbox.process(runtime, inbox_id)  # another delivery of the job: the live lease keeps it out
    assert _statuses(runtime) == ["received"]
    clock.advance(seconds=61)
    inbox.process(runtime, inbox_id)
    assert _statuses(runtime) == ["processed"]


def test_processing_twice_makes_one_lead(runtime, client):
    inbox_id = post_form(client, FORM_SECRET, ADA).json["id"]
    inbox.process(runtime, inbox_id)
    inbox.process(runtime, inbox_id)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1


def test_a_row_that_keeps_failing_is_marked_failed_with_the_error_type(runtime, client, clock, monkeypatch):
    runtime.queue = DroppingQueue()
    inbox_id = post_form(client, FORM_SECRET, ADA).json["id"]

    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("connector.capture.decide.decide_and_store", explode)
    for _ in range(inbox.MAX_ATTEMPTS):
        clock.advance(seconds=61)
        try:
            inbox.process(runtime, inbox_id)
        except RuntimeError:
            pass
    with runtime.db.session() as s:
        item = s.get(InboxItem, inbox_id)
        assert item.status == "failed"
        assert "RuntimeError" in item.errors[0]["problem"]
        assert "Lovelace" not in str(item.errors)
