"""Batches: a bad lead fails alone, a killed worker's batch is taken again once, a backlog makes one
wake-up job (not one per lead), and a batch decides with the reps as they were when it began."""
from __future__ import annotations

import json
import multiprocessing

from sqlalchemy import func, select

from connector.capture import batch, decide, inbox
from connector.jobs.backends import InlineQueue
from connector.jobs.tick import run_tick
from connector.store.models import Email, InboxItem, Lead, Offer
from tests.support.routing import DATA, NA_REPS, add_reps
from tests.support.runtime import deployment_env


class SleepingQueue:
    """A queue whose wake-ups nobody answers yet (the inbox fills up, as under a backlog)."""

    runtime = None

    def __init__(self):
        self.wakes = []

    def enqueue(self, task, *args):
        raise AssertionError(f"{task} enqueued as a job per lead")

    def wake(self, task):
        self.wakes.append(task)

    def close(self):
        pass


def _accept(rt, n: int, *, prefix: str = "lead") -> list[int]:
    ids = []
    for i in range(n):
        fields = {"email": f"{prefix}{i}@{prefix}{i}.example", "name": f"{prefix} {i}", "company": f"{prefix}{i}",
                  "country": "US", "campaign": "seq"}
        raw = json.dumps(fields).encode()
        receipt = inbox.accept(rt, source="api", channel="api", raw=raw, payload=fields,
                               idempotency_key=f"{prefix}-{i}")
        ids.append(receipt.inbox_id)
    return ids


def _count(rt, model) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _inbox(rt) -> dict[int, tuple[str, int]]:
    with rt.db.session() as s:
        return {row.id: (row.status, row.attempts) for row in s.scalars(select(InboxItem))}


def _routing_rt(make_runtime, url, smtp_url):
    rt = make_runtime(url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=smtp_url)
    add_reps(rt, *NA_REPS)
    rt.queue = SleepingQueue()
    return rt


def test_a_poisoned_lead_fails_alone_and_the_batch_stores_the_others(make_runtime, sqlite_url, mailbox, monkeypatch):
    rt = _routing_rt(make_runtime, sqlite_url, mailbox.url)
    ids = _accept(rt, 3)
    real = decide.decide_and_store

    def poisoned(session, rt_, fields, **kwargs):
        lead = real(session, rt_, fields, **kwargs)  # stored, offered, e-mail queued: then it blows up
        if fields["email"].startswith("lead1@"):
            raise RuntimeError("poisoned")
        return lead

    monkeypatch.setattr(decide, "decide_and_store", poisoned)
    assert batch.process_batch(rt) == 3
    rows = _inbox(rt)
    assert [rows[i][0] for i in ids] == ["processed", "received", "processed"]
    assert _count(rt, Lead) == 2 and _count(rt, Offer) == 2 and _count(rt, Email) == 2
    assert len(mailbox.wait_for(2)) == 2  # sent by the batch after its commit
    with rt.db.session() as s:
        assert {e.status for e in s.scalars(select(Email))} == {"sent"}
    assert batch.process_batch(rt) == 0  # the failed lead waits out its lease before it is tried again


def test_a_lead_that_keeps_failing_is_marked_failed_with_the_error_type(make_runtime, sqlite_url, mailbox, clock,
                                                                         monkeypatch):
    rt = _routing_rt(make_runtime, sqlite_url, mailbox.url)
    [inbox_id] = _accept(rt, 1, prefix="lovelace")

    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(decide, "decide_and_store", explode)
    for _ in range(inbox.MAX_ATTEMPTS):
        assert batch.process_batch(rt) == 1
        clock.advance(seconds=61)
    assert batch.process_batch(rt) == 0
    with rt.db.session() as s:
        item = s.get(InboxItem, inbox_id)
        assert item.status == "failed" and item.attempts == inbox.MAX_ATTEMPTS
        assert "RuntimeError" in item.errors[0]["problem"]
        assert "lovelace" not in str(item.errors)


def test_a_killed_workers_batch_is_taken_again_once(make_runtime, pg_url, mailbox, clock):
    rt = _routing_rt(make_runtime, pg_url, mailbox.url)
    ids = _accept(rt, 5)
    spawn = multiprocessing.get_context("spawn")
    from tests.capture import batch_workers

    env = deployment_env(pg_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=mailbox.url)
    child = spawn.Process(target=batch_workers.die_mid_batch, args=(env, 3))
    child.start()
    child.join(120)
    assert child.exitcode == 9  # died with three leads stored in its open transaction
    assert _count(rt, Lead) == 0 and _count(rt, Offer) == 0 and _count(rt, Email) == 0
    assert set(_inbox(rt).values()) == {("received", 0)}  # nothing of the dead batch was committed

    rt.queue = InlineQueue()
    rt.queue.runtime = rt
    assert run_tick(rt)["capture.retake_stalled"] == 0  # too fresh to call stalled
    clock.advance(seconds=31)
    assert run_tick(rt)["capture.retake_stalled"] == 5  # one wake-up drains them all
    assert run_tick(rt)["capture.retake_stalled"] == 0
    rows = _inbox(rt)
    assert [rows[i] for i in ids] == [("processed", 1)] * 5
    assert _count(rt, Lead) == 5 and _count(rt, Offer) == 5 and _count(rt, Email) == 5
    assert len(mailbox.wait_for(5)) == 5
    with rt.db.session() as s:
        assert s.scalar(select(func.count(func.distinct(Lead.inbox_id)))) == 5


def test_a_backlog_makes_one_wake_up_job_not_one_per_lead(make_runtime, pg_url, redis_url, clock, monkeypatch):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from connector.jobs import worker as worker_module

    env = {"REDIS_URL": redis_url, "LEADWIRE_FLOWS": str(DATA / "flows.yaml")}
    rt = make_runtime(pg_url, queue="rq", **env)
    add_reps(rt, *NA_REPS)
    _accept(rt, 40)
    assert rt.queue.rq.count == 1  # forty leads wait behind one wake-up
    for _ in range(3):
        clock.advance(seconds=31)
        assert run_tick(rt)["capture.retake_stalled"] == 40  # all stalled: still one job
        assert rt.queue.rq.count == 1
    for key, value in deployment_env(pg_url, **env).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(worker_module, "_runtime", None)
    monkeypatch.setattr(batch, "BATCH", 15)  # three batches in the one job
    SimpleWorker([rt.queue.rq], connection=rt.queue.connection, serializer=JSONSerializer).work(burst=True)
    assert rt.queue.rq.count == 0
    assert {status for status, _ in _inbox(rt).values()} == {"processed"}
    assert _count(rt, Lead) == 40
    worker_module._runtime.close()
    monkeypatch.setattr(worker_module, "_runtime", None)


def test_reps_changed_during_a_batch_are_seen_by_the_next_batch(make_runtime, pg_url, mailbox, monkeypatch):
    rt = _routing_rt(make_runtime, pg_url, mailbox.url)
    _accept(rt, 2, prefix="first")
    real = decide.decide_and_store
    added = []

    def add_a_rep_midway(*args, **kwargs):
        lead = real(*args, **kwargs)
        if not added:  # another process adds a US rep while this batch is open
            added.append(add_reps(rt, {"email": "zed@na.example", "name": "Zed", "team": "na",
                                       "countries": ["US"]})["zed@na.example"])
        return lead

    monkeypatch.setattr(decide, "decide_and_store", add_a_rep_midway)
    assert batch.process_batch(rt) == 2
    _accept(rt, 1, prefix="second")
    assert batch.process_batch(rt) == 1
    with rt.db.session() as s:
        plans = {lead.email.split("@")[0]: lead.offer_plan["candidates"] for lead in s.scalars(select(Lead))}
    zed = added[0]
    assert zed not in plans["first0"] and zed not in plans["first1"]  # the batch's snapshot, taken before
    assert zed in plans["second0"]
