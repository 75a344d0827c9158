"""The lead lifecycle: re-decisions per second for repeat touches, and the tick's decay step over 1,000,000 leads.

Both parts run on a durable PostgreSQL (fsync, synchronous_commit and full_page_writes on: the defaults).

1. Repeat touches. Leads are captured as production captures them (inbox row committed, then the job
   "capture.process" run in this process exactly as `leadwire worker` runs it), each as a newsletter
   sign-up (nurture). Then every lead sends a demo request: inbox → process → merge → re-decision
   (score, MQL level, promotion, its first offer e-mail queued, CRM outbox rows). Left out: HTTP, Redis and
   SMTP delivery (e-mails stay queued in the outbox; bench/capture.py and bench/routing.py measure
   those): the figure is one worker's.
2. Decay. 1,000,000 nurtured leads with decaying behavioural events are bulk-loaded (generate_series),
   1% of them due for a re-score; one tick run of "capture.rescore_due" is timed (a bounded batch), then
   runs are repeated until nothing is due.

    .venv/bin/python bench/lifecycle.py [--quick] [--touches N] [--leads N]

Last line: re-decisions per second for repeat touches, and the decay step's time per run.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import UTC, datetime, timedelta

from _support import REPO, migrated_database, postgresql_server
from sqlalchemy import create_engine, func, select, text

from connector.capture import inbox, lifecycle
from connector.core.clock import FakeClock
from connector.core.config import load_settings
from connector.jobs.boot import build_runtime
from connector.routing import reps
from connector.store.models import Lead, TimelineEvent

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # a Tuesday afternoon in Europe and morning in America
SECRET = "bench-form-secret-0123456789"


def payload(i: int, form: str) -> dict:
    """A web-form post by lead i: a CTO of a large finance firm (the shipped model's hottest demographics)."""
    return {"first_name": f"Ann{i}", "last_name": "Lee", "email": f"ann{i}@bank{i % 997}.example",
            "phone": f"+1 415 555 {i % 10000:04d}", "company": f"Bank {i % 997}",
            "website": f"https://bank{i % 997}.example",
            "job_title": "CTO", "country": "United States", "state": "CA", "zip": "94105", "role": "CTO",
            "employees": "5000", "industry": "Finance", "form": form, "product_interest": "Insight Analytics"}


def touches(url: str, n: int) -> dict[str, float]:
    """Capture n newsletter leads, then time n demo-request touches through the worker's path."""
    env = {"DATABASE_URL": url, "LEADWIRE_FLOWS": str(REPO / "flows.yaml"), "WEBSITE_FORM_SECRET": SECRET,
           "LEADWIRE_SECRET_KEY": "bench-secret-key-0123456789abcdef"}
    rt = build_runtime(load_settings(env), queue="inline", clock=FakeClock(NOW))
    reps.import_records(rt, reps.read_yaml(REPO / "examples" / "reps.yaml"))

    def post(i: int, form: str) -> None:
        body = json.dumps(payload(i, form)).encode()
        inbox.accept(rt, source="website", channel="form", raw=body, payload=json.loads(body),
                     idempotency_key=f"{form}-{i}")

    for i in range(n):
        post(i, "newsletter")
    start = time.perf_counter()
    for i in range(n):
        post(i, "demo_request")
    elapsed = time.perf_counter() - start
    with rt.db.session() as s:
        promoted = s.scalar(select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == "promoted"))
        leads = s.scalar(select(func.count()).select_from(Lead))
    rt.close()
    return {"touches": n, "seconds": elapsed, "per_second": n / elapsed, "promoted": promoted or 0, "leads": leads or 0}


LOAD = [
    "SET session_replication_role = replica",
    """INSERT INTO leads (id, source, flow, outcome, status, email, first_name, last_name, company, attributes,
            score, mql_level, nurture_stream, captured_at, updated_at, rescore_at, decided_with)
       SELECT g, 'website', 'inbound', 'nurture', 'nurture', 'lead' || g || '@co' || (g % 50000) || '.example',
              'Pat' || g, 'Buyer', 'Company ' || (g % 50000),
              json_build_object('role', 'individual', 'employees', 30, 'industry', 'education', 'form', 'newsletter',
                  'events', json_build_array(
                      json_build_object('type', 'webinar_attended', 'at', to_char(:now - (g % 40) * interval '1 day',
                                        'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
                      json_build_object('type', 'pricing_viewed', 'at', to_char(:now - (g % 9) * interval '1 day',
                                        'YYYY-MM-DD"T"HH24:MI:SS"Z"'))))::jsonb,
              30, 1, 'mainline', :now - interval '60 days', :now - interval '1 day',
              CASE WHEN g % 100 = 0 THEN :now - interval '1 minute' ELSE :now + (g % 997) * interval '1 hour' END,
              'bench'
       FROM generate_series(1, :n) g""",
    "SELECT setval(pg_get_serial_sequence('leads', 'id'), :n)",
    "SET session_replication_role = DEFAULT",
]


def decay(url: str, n: int) -> dict[str, float]:
    """Bulk-load n leads (1% due) and time the tick's decay step until nothing is due."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for sql in LOAD:
            conn.execute(text(sql), {"n": n, "now": NOW})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE leads"))
        due = conn.execute(text("SELECT count(*) FROM leads WHERE rescore_at <= :now"), {"now": NOW}).scalar() or 0
    engine.dispose()
    env = {"DATABASE_URL": url, "LEADWIRE_FLOWS": str(REPO / "flows.yaml"),
           "LEADWIRE_SECRET_KEY": "bench-secret-key-0123456789abcdef"}
    rt = build_runtime(load_settings(env), queue="inline", clock=FakeClock(NOW), upgrade=False)
    runs: list[tuple[float, int]] = []
    while True:
        start = time.perf_counter()
        done = lifecycle.rescore_due(rt, NOW + timedelta(seconds=1))
        runs.append((time.perf_counter() - start, done))
        if not done or len(runs) > 10_000:
            break
    rt.close()
    timed = [r for r in runs if r[1]]
    total = sum(d for _, d in timed)
    seconds = sum(t for t, _ in timed)
    return {"leads": n, "due": due, "rescored": total, "runs": len(timed),
            "per_run_ms": 1000 * seconds / max(1, len(timed)), "batch": max((d for _, d in timed), default=0),
            "per_second": total / seconds if seconds else 0.0, "idle_run_ms": 1000 * runs[-1][0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 touches and 100,000 stored leads")
    ap.add_argument("--touches", type=int, help="repeat touches (default 1,000; --quick 200)")
    ap.add_argument("--leads", type=int, help="stored leads for the decay step (default 1,000,000)")
    args = ap.parse_args()
    n_touch = args.touches or (200 if args.quick else 1_000)
    n_leads = args.leads or (100_000 if args.quick else 1_000_000)
    logging.getLogger("connector.notify").setLevel(logging.ERROR)  # no SMTP here: offer e-mails stay queued
    with postgresql_server(durable=True) as server:
        t = touches(migrated_database(server, "touches"), n_touch)
        print(f"repeat touches: {t['touches']:,} demo requests after a newsletter sign-up in {t['seconds']:.1f} s "
              f"= {t['per_second']:.0f} re-decisions/s; {t['promoted']:,} promoted and offered; {t['leads']:,} leads",
              flush=True)
        d = decay(migrated_database(server, "decay"), n_leads)
        print(f"decay: {d['leads']:,} stored leads, {d['due']:,} due; {d['rescored']:,} re-scored in {d['runs']} runs "
              f"of up to {d['batch']} ({d['per_run_ms']:.0f} ms per run, {d['per_second']:.0f} leads/s); "
              f"a run with nothing due: {d['idle_run_ms']:.1f} ms", flush=True)
    print(f"lifecycle (durable PostgreSQL, in-process worker, no HTTP/Redis): {t['per_second']:.0f} re-decisions/s "
          f"for repeat touches; decay step {d['per_run_ms']:.0f} ms per run of {d['batch']} over {d['leads']:,} leads")


if __name__ == "__main__":
    main()
