"""Two touches of one lead processed at once by two worker processes on PostgreSQL give one consistent lead.

Each worker pauses between reading the stored lead and writing its merge until the other one has read it
too (tests/support/lifecycle_touch.touch_worker): without the lead lock (routing/offers.lock_lead in the
merge) both would merge into the same old lead — one event lost, the lead promoted and offered twice.
With the lock the second worker waits, then merges into the lead as the first one left it."""
from __future__ import annotations

import multiprocessing
from datetime import timedelta

from tests.support.lifecycle_touch import entries, example_reps, lead_of, offers_of, submit, touch_worker
from tests.support.runtime import deployment_env


def test_two_touches_at_once_keep_both_events_and_decide_once(make_runtime, pg_url, clock):
    rt = make_runtime(pg_url)
    example_reps(rt)
    lead_id = submit(rt, "newsletter")
    assert lead_of(rt, lead_id).status == "nurture"
    clock.advance(days=2)
    now = clock.now()
    touches = [{"form": "newsletter", "events": [{"type": "webinar_attended", "at": (now - timedelta(hours=2)).isoformat()}]},
               {"form": "newsletter", "events": [{"type": "pricing_viewed", "at": (now - timedelta(hours=1)).isoformat()}]}]
    spawn = multiprocessing.get_context("spawn")
    start, pause, results = spawn.Barrier(2), spawn.Barrier(2), spawn.Queue()
    procs = [spawn.Process(target=touch_worker, args=(deployment_env(pg_url), now.isoformat(), t, start, pause, results))
             for t in touches]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert sorted(results.get(timeout=10) for _ in procs) == [lead_id, lead_id]

    lead = lead_of(rt, lead_id)
    assert sorted(e["type"] for e in lead.attributes["events"]) == ["pricing_viewed", "webinar_attended"]
    assert (lead.score, lead.mql_level, lead.flow) == (64, 2, "qualified")  # both events scored: 42 + 12 + 9.6
    assert len(entries(rt, lead_id, "duplicate")) == 2
    assert len(entries(rt, lead_id, "promoted")) == 1  # one decision: promoted once ...
    assert len(offers_of(rt, lead_id)) == 1            # ... and offered once
    [rescored] = entries(rt, lead_id, "rescored")       # the second touch found it promoted already
    assert rescored.message.startswith("rescored: score ")
