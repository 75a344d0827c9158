"""Routing benchmark.

1. Decisions: the routing plan (rep index lookup + filters + chooser) for leads against networks of
   10, 1,000 and 100,000 reps, in-process. Each lead's territory holds about ten reps whatever the
   network's size (bigger networks have finer territories), so the cost should stay flat; the same
   plan over the whole team without the index is shown beside it.
2. End to end: signed web-form POST → offer e-mail handed to SMTP, at a steady 50 leads/s, on gunicorn
   (2 workers) + RQ workers + Redis + PostgreSQL, all started here on loopback, with an aiosmtpd server.

    .venv/bin/python bench/routing.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from _support import REPO, free_port, gunicorn, migrated_database, percentile, postgresql_server, redis_server

from connector.flows.model import DuplicateSpec, Flow, OfferSpec, RouteSpec, TeamRule
from connector.flows.routing import RepBook, RepView, plan
from connector.flows.routing_strategies import rank

COUNTRIES = ["US", "CA", "MX", "GB", "IE", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "JP", "KR", "AU", "NZ", "SG",
             "IN", "BR", "ZA"]
NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
HOURS = {d: ["07:00", "19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def network(n: int, per_area: int = 10) -> tuple[list[RepView], list[tuple[str, str]]]:
    """`n` reps in one team, ~per_area per territory; territories are countries, then postal prefixes."""
    areas = max(1, n // per_area)
    per_country = -(-areas // len(COUNTRIES))
    width = 0 if per_country <= 1 else len(str(per_country - 1))
    cells = [(COUNTRIES[a % len(COUNTRIES)], f"{a // len(COUNTRIES):0{width}d}" if width else "") for a in range(areas)]
    reps = []
    for i in range(n):
        country, prefix = cells[i % areas]
        reps.append(RepView(
            id=i + 1, email=f"r{i}@bench.example", name=f"Rep {i}", team="field",
            countries=() if prefix else (country,), postal_prefixes=(f"{country}:{prefix}",) if prefix else (),
            products=("insight",) if i % 3 else ("sentinel", "insight"), max_open_offers=5, open_offers=i % 7,
            timezone="UTC", working_hours=HOURS if i % 5 else None, weight=1 + i % 3,
            acceptance_rate=(i % 10) / 10, win_rate=(i % 4) / 4))
    return reps, cells


FLOW = Flow("bench", None, (), DuplicateSpec(), True,
            RouteSpec((TeamRule(None, "field"),), ("territory", "product", "capacity", "absence", "working_hours"),
                      "round_robin"), OfferSpec())


def leads(cells: list[tuple[str, str]], count: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        country, prefix = rnd.choice(cells)
        postal = (prefix + "".join(rnd.choice("0123456789") for _ in range(5)))[:5]
        out.append({"country": country, "postal_code": postal, "product": rnd.choice(["insight", "sentinel"])})
    return out


def decisions(n: int, count: int) -> dict:
    """Plans against a book built once for the network (what `simulate` and a cached snapshot do)."""
    reps, cells = network(n)
    start = time.perf_counter()
    book = RepBook(reps)
    build_ms = (time.perf_counter() - start) * 1000
    times, kept = [], 0
    for lead in leads(cells, count):
        start = time.perf_counter()
        routing, _ = plan(FLOW, lead, book, NOW, None, {})
        times.append(time.perf_counter() - start)
        kept += len(routing.kept)
    times.sort()
    return {"reps": n, "decisions_per_s": len(times) / sum(times), "p99_ms": percentile(times, 99) * 1000,
            "p50_ms": percentile(times, 50) * 1000, "kept_per_lead": kept / len(times), "build_ms": build_ms}


def full_scan(n: int, count: int) -> dict:
    """The same filters and chooser over every rep of the team, without the index (the baseline)."""
    reps, cells = network(n)
    times = []
    for lead in leads(cells, count):
        start = time.perf_counter()
        rank(reps, lead, NOW, filters=FLOW.route.filters, chooser="round_robin")
        times.append(time.perf_counter() - start)
    times.sort()
    return {"reps": n, "decisions_per_s": len(times) / sum(times), "p99_ms": percentile(times, 99) * 1000,
            "p50_ms": percentile(times, 50) * 1000}


# ---- end to end --------------------------------------------------------------------------------

FLOWS_YAML = """version: 1
sources:
  website: {kind: form, mapping: webform.yaml, secret_env: WEBSITE_FORM_SECRET, required: [email, company]}
flows:
  - name: bench
    duplicates: {rules: [email], action: link}
    route: {team: field, filters: [territory, capacity, absence], chooser: round_robin}
    offer: {mode: sequential, window: 5m}
"""


class Arrivals:
    """aiosmtpd handler: when each offer e-mail arrived, by the bench company named in its subject."""

    def __init__(self):
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):
        subject = message_from_bytes(envelope.original_content, policy=policy.default)["Subject"] or ""
        found = re.match(r"New lead: (Bench Co \d+) ", subject)
        if found:
            self.at.setdefault(found.group(1), time.perf_counter())
        return "250 OK"


def end_to_end(seconds: float, rates: tuple[float, ...] = (50.0,), worker: str = "simple") -> dict[float, dict]:
    """`worker`: "leadwire" (`leadwire worker`: RQ's forking Worker + tick) or "simple" (rq SimpleWorker)."""
    from aiosmtpd.controller import Controller

    from connector.core.signing import sign

    workdir = Path(tempfile.mkdtemp(prefix="leadwire-bench-routing-"))
    (workdir / "flows.yaml").write_text(FLOWS_YAML)
    shutil.copy(REPO / "mappings" / "webform.yaml", workdir / "webform.yaml")
    arrivals, smtp_port = Arrivals(), free_port()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    secret = secrets.token_hex(16)
    workers: list[subprocess.Popen] = []
    try:
        with postgresql_server() as pg, redis_server() as redis_url:
            env = {"DATABASE_URL": migrated_database(pg), "REDIS_URL": redis_url, "WEBSITE_FORM_SECRET": secret,
                   "LEADWIRE_FLOWS": str(workdir / "flows.yaml"), "LEADWIRE_SECRET_KEY": secrets.token_hex(32),
                   "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "LEADWIRE_API_KEY": secrets.token_hex(16)}
            full_env = {**os.environ, **env}
            reps_file = workdir / "reps.json.yaml"
            reps_file.write_text(json.dumps({"reps": [
                {"email": f"rep{i}@bench.example", "team": "field", "countries": ["US"], "max_open_offers": 10000}
                for i in range(25)]}))
            done = subprocess.run([sys.executable, "-m", "connector", "reps", "import", str(reps_file)],
                                  env=full_env, cwd=REPO, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"reps import failed: {done.stderr[-2000:]}")
            cmd = [sys.executable, "-m", "connector", "worker"] if worker == "leadwire" else \
                [str(Path(sys.executable).parent / "rq"), "worker", "-w", "rq.worker.SimpleWorker", "-S", "json",
                 "-u", redis_url, "-q", "leadwire"]
            for _ in range(3):
                workers.append(subprocess.Popen(cmd, env=full_env, cwd=REPO, start_new_session=True))
            with gunicorn("wsgi:app", env, workers=2) as url:
                results = {}
                for i, r in enumerate(rates):
                    results[r] = _drive(url, secret, sign, arrivals, seconds, r, first=i * 100_000)
            for result in results.values():
                result["db"] = _state(f"{pg}/bench")
            return results
    finally:
        for proc in workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            proc.wait(15)
        smtp.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _state(url: str) -> dict:
    """Where the leads ended up (to explain any that were not delivered in time)."""
    from sqlalchemy import func, select

    from connector.store import Database
    from connector.store.models import Email, InboxItem

    db = Database(url)
    with db.session() as s:
        out = {"inbox": dict(s.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all()),
               "emails": dict(s.execute(select(Email.status, func.count()).group_by(Email.status)).all())}
    db.dispose()
    return out


def _drive(url: str, secret: str, sign, arrivals: Arrivals, seconds: float, rate: float, first: int = 0) -> dict:
    import requests

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=32))
    sent: dict[str, float] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def post(i: int) -> None:
        company = f"Bench Co {i}"
        body = json.dumps({"email": f"buyer{i}@bench{i}.example", "first_name": "Pat", "last_name": f"Buyer{i}",
                           "company": company, "country": "US", "zip": "94107"}).encode()
        headers = {"Content-Type": "application/json", "X-Leadwire-Signature": sign(secret, body, int(time.time()))}
        start = time.perf_counter()
        resp = session.post(f"{url}/hooks/forms/website", data=body, headers=headers, timeout=30)
        with lock:
            sent[company] = start
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

    for i in range(20):  # warm up workers and connections (not measured)
        post(-1 - i - first)
    time.sleep(2)
    total = int(seconds * rate)
    ids = range(first, first + total)
    begin = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        for n, i in enumerate(ids):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, i)
    offered_for = time.perf_counter() - begin
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and sum(1 for i in ids if f"Bench Co {i}" in arrivals.at) < total:
        time.sleep(0.1)
    lat = sorted(arrivals.at[c] - sent[c] for c in (f"Bench Co {i}" for i in ids) if c in arrivals.at and c in sent)
    return {"leads": total, "rate": total / offered_for, "delivered": len(lat), "statuses": statuses,
            "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": (lat[-1] * 1000) if lat else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer decisions and 12 s loads")
    parser.add_argument("--worker", choices=("simple", "leadwire"), default="simple",
                        help="RQ SimpleWorker (no fork per job; default) or `leadwire worker` (forking Worker + tick)")
    args = parser.parse_args()
    count = 300 if args.quick else 2000
    print(f"{'reps':>8s} {'decisions/s':>12s} {'p50 ms':>8s} {'p99 ms':>8s} {'kept/lead':>9s} {'index build':>12s}"
          f" {'no index: /s':>13s} {'p50 ms':>8s}")
    rows = {}
    for n in (10, 1_000, 100_000):
        r, base = decisions(n, count), full_scan(n, max(5, count // (1 + n // 100)))
        rows[n] = r
        print(f"{n:8d} {r['decisions_per_s']:12.0f} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r['kept_per_lead']:9.1f}"
              f" {r['build_ms']:10.0f}ms {base['decisions_per_s']:13.1f} {base['p50_ms']:8.2f}")
    worker = args.worker
    runs = end_to_end(12 if args.quick else 60, rates=(20.0, 50.0), worker=worker)
    for rate, e2e in runs.items():
        print(f"end to end @ {rate:.0f}/s ({worker} RQ workers x3, gunicorn x2): {e2e['leads']} leads sent at "
              f"{e2e['rate']:.1f}/s, {e2e['delivered']} offer e-mails received, p50 {e2e['p50_ms']:.0f} ms, "
              f"p99 {e2e['p99_ms']:.0f} ms, max {e2e['max_ms']:.0f} ms; HTTP {e2e['statuses']}")
    print(f"rows at the end: {runs[50.0]['db']}")
    big, e2e = rows[100_000], runs[50.0]
    print(f"routing: {big['decisions_per_s']:.0f} decisions/s (p99 {big['p99_ms']:.2f} ms) with 100,000 reps "
          f"(10 reps: {rows[10]['decisions_per_s']:.0f}/s); webhook → offer e-mail at {e2e['rate']:.0f} leads/s "
          f"p50 {e2e['p50_ms']:.0f} ms, p99 {e2e['p99_ms']:.0f} ms ({e2e['delivered']}/{e2e['leads']} delivered; "
          f"at 20/s p99 {runs[20.0]['p99_ms']:.0f} ms)")


if __name__ == "__main__":
    main()
