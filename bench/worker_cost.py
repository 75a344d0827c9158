"""Per-lead worker cost on durable PostgreSQL: N reps, M leads accepted, then drained in this process
exactly as a `leadwire worker` job runs them (batches when the code has them, else one job per lead),
every lead routed and its offer e-mail sent to an SMTP catcher. Headline last.

    python bench/worker_cost.py --reps 10 --leads 300        # --quick: 10 and 1,000 reps, 200 leads
"""
from __future__ import annotations

import argparse
import json
import os
import time

from _support import REPO, migrated_database, postgresql_server

from connector.core.clock import Clock
from connector.core.config import load_settings
from connector.demo.mailbox import Mailbox
from connector.jobs.boot import build_runtime
from connector.routing import reps as reps_uc
from tests.support.routing import DATA
from tests.support.runtime import deployment_env


class Sleeping:
    """Wake-ups and jobs recorded, not run: the backlog is drained afterwards, timed."""

    runtime = None

    def __init__(self):
        self.jobs = []

    def enqueue(self, task, *args):
        self.jobs.append((task, args))

    def wake(self, task):
        if (task, ()) not in self.jobs:  # wake-ups coalesce until one runs
            self.jobs.append((task, ()))

    def close(self):
        pass


def run(server: str, n_reps: int, n_leads: int, box: Mailbox) -> float:
    url = migrated_database(server, f"cost{n_reps}")
    rt = build_runtime(load_settings(deployment_env(url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"),
                                                    SMTP_URL=box.url)), queue="inline", clock=Clock())
    countries = ["US", "CA", "DE", "FR", "GB", "NL", "ES", "IT", "SE", "PL"]
    reps_uc.import_records(rt, list(enumerate(
        {"email": f"r{i}@na.example", "name": f"Rep {i}", "team": "na", "countries": [countries[i % 10]],
         "max_open_offers": 10_000} for i in range(n_reps))))
    from connector.capture import inbox

    rt.queue = queue = Sleeping()
    for i in range(n_leads):
        fields = {"email": f"l{i}@c{i}.example", "name": f"Lead {i}", "company": f"C{i}", "country": "US",
                  "campaign": "seq"}
        raw = json.dumps(fields).encode()
        inbox.accept(rt, source="api", channel="api", raw=raw, payload=fields, idempotency_key=f"k{i}")
    from connector.jobs.backends import run_task

    before = len(box.messages) if hasattr(box, "messages") else 0
    t0 = time.perf_counter()
    for task, args in list(queue.jobs):
        run_task(rt, task, *args)
    if not any(t == "capture.drain" for t, _ in queue.jobs):  # old code: e-mails are jobs queued by the jobs
        for task, args in list(queue.jobs[n_leads:]):
            run_task(rt, task, *args)
    elapsed = time.perf_counter() - t0
    box.wait_for(before + n_leads, timeout=60)
    rt.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, nargs="*", default=[10, 1000, 100_000])
    ap.add_argument("--leads", type=int, default=300)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    reps, leads = ([10, 1000], 200) if args.quick else (args.reps, args.leads)
    print(f"code: {REPO}; load average {os.getloadavg()[0]:.2f}; durable PostgreSQL; one worker process")
    results = []
    with postgresql_server(durable=True) as server, Mailbox() as box:
        for n in reps:
            elapsed = run(server, n, leads, box)
            results.append((n, elapsed))
            print(f"  {n:>7} reps: {leads} leads in {elapsed:.2f} s = {1000 * elapsed / leads:.1f} ms/lead")
    print("headline: " + ", ".join(f"{n} reps {leads / e:.0f} leads/s ({1000 * e / leads:.1f} ms/lead)"
                                   for n, e in results) + f"; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
