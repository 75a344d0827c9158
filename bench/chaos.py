"""Chaos on the production stack, all on loopback: PostgreSQL (durable settings), Redis, gunicorn (2
workers), 2 `leadwire worker` processes and the CRM sandbox. Scenarios, each with its own leads:

  redis     Redis stopped under load, then started again on the same port (the tick retakes the rows)
  postgres  PostgreSQL stopped under load (503 + Retry-After; the sender retries), then started again
  kills     every lead delivered 3 times, shuffled, while a worker is SIGKILLed and restarted every second
  crm       the CRM sandbox answers 503 to every call for a while (the outbox holds the writes)
  fuzz      seeded random requests at every route of the app (ids, tokens, bodies, headers, NUL, depth)

Prints sent, acknowledged, leads, lost, doubled, 503 and other 5xx per scenario, the 5xx causes, and the
headline last.

    .venv/bin/python bench/chaos.py [--quick] [--seed N]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests
from _support import REPO, free_port, gunicorn, migrated_database, postgresql_server
from sqlalchemy import create_engine, func, select, text

from connector.core.signing import sign
from connector.demo.journey import crm_env
from connector.demo.sandbox import Sandbox
from connector.store.models import InboxItem, Lead, OutboxItem
from tests.support.servers import _as_postgres, _pg_bin

API_KEY = "chaos-api-key-" + secrets.token_hex(8)
FORM_SECRET = secrets.token_hex(16)
THREADS = 8


class RedisServer:
    """redis-server on one loopback port that can be stopped and started again (no persistence)."""

    def __init__(self, workdir: Path):
        self.port, self.workdir, self.proc = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                      text=True).stdout.strip() == "PONG", 10, "redis-server")

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class Postgres:
    """Stop and start again the bench's PostgreSQL cluster (same data, port and options)."""

    def __init__(self, db_url: str):
        engine = create_engine(db_url)
        with engine.connect() as conn:
            self.data = conn.execute(text("SHOW data_directory")).scalar_one()
        engine.dispose()
        args = shlex.split(Path(self.data, "postmaster.opts").read_text())[1:]
        self.opts = " ".join(shlex.quote(a) for i, a in enumerate(args)
                             if a != "-D" and (i == 0 or args[i - 1] != "-D"))

    def stop(self) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "stop"]),
                       capture_output=True, check=True)

    def start(self) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", self.data, "-o", self.opts, "-l",
                                     str(Path(self.data).parent / "log"), "-w", "start"]),
                       capture_output=True, check=True)


class Workers:
    """N `leadwire worker` processes, each killable (SIGKILL) and restartable."""

    def __init__(self, env: dict, n: int, logdir: Path):
        self.env, self.logdir, self.kills = env, logdir, 0
        self.procs = [self._start(i) for i in range(n)]

    def _start(self, i: int) -> subprocess.Popen:
        log = open(self.logdir / f"worker{i}.log", "a")  # noqa: SIM115 (the process writes it until it ends)
        return subprocess.Popen([sys.executable, "-m", "connector", "worker"], cwd=REPO, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)

    def kill_one(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.procs))
        self.procs[i].kill()
        self.procs[i].wait(10)
        self.kills += 1
        self.procs[i] = self._start(i)

    def exited(self) -> int:
        return sum(1 for p in self.procs if p.poll() is not None)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def _until(done, seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            raise RuntimeError(f"{what} did not come up")
        time.sleep(0.1)


# -- senders ----------------------------------------------------------------------------------------

class Tally:
    """What one scenario sent and what came back."""

    def __init__(self, name: str):
        self.name, self.emails, self.acked = name, set(), set()
        self.statuses: Counter[int] = Counter()
        self.causes: Counter[str] = Counter()
        self.examples: dict[str, str] = {}  # cause -> the first request that showed it
        self.requests = 0
        self.lock = threading.Lock()

    def note(self, status: int, cause: str = "", email: str | None = None, example: str = "") -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if status >= 500:
                self.causes[f"{status} {cause}"] += 1
                self.examples.setdefault(f"{status} {cause}", example)
            if email and 200 <= status < 300:
                self.acked.add(email)


SCENARIOS = ("crm", "redis", "postgres", "kills", "fuzz")  # in this order: the CRM's retries and the tick's
# retake of rows Redis lost come due while the later scenarios run


def lead_body(scenario: str, i: int) -> bytes:
    """A lead no other one matches (e-mail, phone, name and company its own): each is one lead."""
    phone = f"+1 415 {200 + SCENARIOS.index(scenario)} {i % 10000:04d}"
    return json.dumps({"first_name": f"Chaos{i}", "last_name": scenario.title(),
                       "email": f"{scenario}{i}@chaos.example", "phone": phone, "company": f"Chaos {scenario} {i} Inc",
                       "country": "US", "form": "demo_request", "role": "VP", "employees": "600"}).encode()


def deliver(http: requests.Session, base: str, tally: Tally, body: bytes, email: str, retry_until: float) -> None:
    """POST a signed web form; on 503 or a refused connection retry (Retry-After) until `retry_until`."""
    while True:
        headers = {"Content-Type": "application/json",
                   "X-Leadwire-Signature": sign(FORM_SECRET, body, int(time.time()))}
        try:
            resp = http.post(f"{base}/hooks/forms/website", data=body, headers=headers, timeout=30)
            status = resp.status_code
        except requests.RequestException:
            status = 599  # no answer: counted apart from the 5xx the app sent
        tally.note(status, "POST /hooks/forms/website", email)
        if status not in (503, 599) or time.monotonic() > retry_until:
            return
        time.sleep(float(resp.headers.get("Retry-After", 1)) if status == 503 else 1.0)


def send_leads(base: str, tally: Tally, n: int, copies: int, rng: random.Random, seconds: float) -> None:
    """n leads, each `copies` times, shuffled, spread over about `seconds`."""
    jobs = [(lead_body(tally.name, i), f"{tally.name}{i}@chaos.example") for i in range(n) for _ in range(copies)]
    rng.shuffle(jobs)
    tally.emails = {email for _, email in jobs}
    pause = seconds / max(1, len(jobs)) * THREADS
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=THREADS))

    def one(job):
        deliver(http, base, tally, job[0], job[1], time.monotonic() + 120)
        time.sleep(pause)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, jobs))


def while_sending(base: str, tally: Tally, n: int, copies: int, rng: random.Random, seconds: float,
                  during) -> None:
    """Send the scenario's leads while `during()` does its damage in another thread."""
    thread = threading.Thread(target=during, daemon=True)
    thread.start()
    send_leads(base, tally, n, copies, rng, seconds)
    thread.join()


# -- fuzz -------------------------------------------------------------------------------------------

def _value(rng: random.Random, depth: int = 0):
    kinds = ["int", "big", "neg", "float", "str", "nul", "ctrl", "uni", "long", "bool", "none", "list", "dict", "deep"]
    kind = rng.choice(kinds if depth < 3 else kinds[:11])
    makers = {
        "int": lambda: rng.randint(0, 1000), "big": lambda: 10 ** rng.randint(10, 40),
        "neg": lambda: -rng.randint(1, 10 ** 12), "float": lambda: rng.choice([1e308, -0.0, 3.5, 1e-300]),
        "str": lambda: rng.choice(["x", "", " ", "a@b.c", "DE", "won"]), "nul": lambda: "a\u0000b",
        "ctrl": lambda: "\u0007\u001b[31m\u202e", "uni": lambda: "Ærøskøbing 北京 🙂 \ud7ff",
        "long": lambda: "z" * rng.choice([300, 5000, 70000]), "bool": lambda: rng.random() < 0.5,
        "none": lambda: None, "list": lambda: [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))],
        "dict": lambda: {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))},
        "deep": lambda: {"a": {"b": {"c": [1]}}},
    }
    return makers[kind]()


FIELDS = ["email", "first_name", "last_name", "phone", "company", "country", "source", "name", "team", "events",
          "type", "at", "rep", "reason", "status", "level", "outcome", "amount", "territory", "capacity", "absent",
          "password", "csrf_token", "q", "contact", "objectId", "subscriptionType", "eventId"]
PATH_VALUES = ["1", "0", "-1", "99999999999999999999", "1000000000000", "abc", "%00", "a%00b", "..%2f..", "é",
               "x" * 500, "ada@example.com", "t.0.x", "eyJhbGciOi.x.y", "1e9", "%ff%fe"]


def fuzz_requests(rules: list[tuple[str, str]], n: int, rng: random.Random) -> list[tuple[str, str, dict]]:
    out = []
    for _ in range(n):
        method, rule = rng.choice(rules)
        path = rule
        while "<" in path:
            start, end = path.index("<"), path.index(">")
            path = path[:start] + rng.choice(PATH_VALUES) + path[end + 1:]
        query = "&".join(f"{rng.choice(FIELDS + ['page', 'per_page', 'since', 'until'])}={rng.choice(PATH_VALUES)}"
                         for _ in range(rng.randint(0, 3)))
        headers = {}
        if rng.random() < 0.7:
            headers["Authorization"] = f"Bearer {API_KEY}"
        shape = rng.choice(["json", "json", "json", "form", "raw", "none", "deep"])
        if shape == "deep":  # nesting past any parser's recursion limit
            depth = rng.choice([100, 1000, 5000])
            data = b'{"a":' * depth + b"1" + b"}" * depth if rng.random() < 0.5 else b"[" * depth + b"]" * depth
            headers["Content-Type"] = "application/json"
        elif shape == "json":
            body = {rng.choice(FIELDS): _value(rng) for _ in range(rng.randint(0, 6))} if rng.random() < 0.8 \
                else _value(rng)
            try:
                data = json.dumps(body).encode()
            except (ValueError, RecursionError):
                data = b"[" * 5000
            headers["Content-Type"] = "application/json"
        elif shape == "form":
            data = "&".join(f"{rng.choice(FIELDS)}={rng.choice(PATH_VALUES)}" for _ in range(4)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif shape == "raw":
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
            headers["Content-Type"] = rng.choice(["application/json", "text/xml", "application/x-www-form-urlencoded"])
        else:
            data = b""
        if rule.startswith("/hooks/forms") and rng.random() < 0.5:
            key = rng.choice([None, "k" * rng.randint(1, 300), "a\tb", "é"])
            stamp = int(time.time()) + rng.choice([0, 0, 290, -400, 10 ** 12])
            headers["X-Leadwire-Signature"] = sign(FORM_SECRET, data, stamp, key)
            if key:
                headers["Idempotency-Key"] = key.encode("latin-1", "replace").decode("latin-1")
        if rule.startswith("/hooks/hubspot"):
            headers["X-HubSpot-Signature-v3"] = rng.choice(["x", "=" * 44])
            headers["X-HubSpot-Request-Timestamp"] = rng.choice(["1", str(int(time.time() * 1000)), "nan"])
        if rule.startswith("/dashboard") and rng.random() < 0.5:
            headers["Cookie"] = rng.choice(["session=x", "session=" + "a" * 4000, "session=eyJ.x.y"])
        out.append((method, path + (f"?{query}" if query else ""), {"data": data, "headers": headers, "rule": rule}))
    return out


def run_fuzz(base: str, tally: Tally, reqs: list[tuple[str, str, dict]]) -> None:
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=THREADS))

    def one(req):
        method, path, spec = req
        try:
            resp = http.request(method, base + path, data=spec["data"], headers=spec["headers"], timeout=30,
                                allow_redirects=False)
            tally.note(resp.status_code, f"{method} {spec['rule']}", example=f"{method} {path[:160]}")
        except requests.RequestException as exc:
            tally.note(599, f"{method} {spec['rule']} ({type(exc).__name__})", example=f"{method} {path[:160]}")

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, reqs))


def routes(env: dict) -> list[tuple[str, str]]:
    """Every (method, rule) of the app, as url_map lists them."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from connector.web import create_app  # local: the app reads the bench's environment when it is built

        app = create_app()
        found = [(m, r.rule) for r in app.url_map.iter_rules() for m in sorted(r.methods - {"HEAD", "OPTIONS"})
                 if not r.rule.startswith("/static")]
        app.extensions["leadwire"].close()
        return found
    finally:
        os.environ.clear()
        os.environ.update(saved)


# -- the ground truth -------------------------------------------------------------------------------

def settle(db_url: str, seconds: float) -> int:
    """Wait until no inbox row is left unprocessed and no CRM write pending (or `seconds` pass); the rows
    still waiting."""
    engine = create_engine(db_url)
    end = time.monotonic() + seconds
    try:
        while True:
            try:
                with engine.connect() as conn:
                    waiting = conn.scalar(select(func.count()).select_from(InboxItem)
                                          .where(InboxItem.status == "received"))
                    waiting += conn.scalar(select(func.count()).select_from(OutboxItem)
                                           .where(OutboxItem.status == "pending"))
            except Exception:  # noqa: BLE001 (PostgreSQL may still be starting)
                waiting = -1
            if waiting == 0 or time.monotonic() > end:
                return waiting
            time.sleep(1)
    finally:
        engine.dispose()


def figures(db_url: str, tally: Tally, sandbox: Sandbox | None = None) -> dict:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(Lead.email, func.count()).where(Lead.email.like(f"{tally.name}%@chaos.example"))
                            .group_by(Lead.email)).all()
        writes = dict(conn.execute(select(OutboxItem.status, func.count()).join(Lead, Lead.id == OutboxItem.lead_id)
                                   .where(Lead.email.like(f"{tally.name}%@chaos.example"))
                                   .group_by(OutboxItem.status)).all())
    engine.dispose()
    per_email = dict(rows)
    out = {"sent": len(tally.emails), "requests": tally.requests, "acknowledged": len(tally.acked),
           "leads": len(per_email), "lost": len(tally.acked - set(per_email)),
           "doubled": sum(1 for c in per_email.values() if c > 1), "503": tally.statuses[503],
           "5xx": sum(c for s, c in tally.statuses.items() if 500 <= s < 599 and s != 503),
           "no answer": tally.statuses[599]}
    if sandbox is not None:
        with sandbox.state.lock:
            emails = Counter(str(c.get("properties", {}).get("email", "")).lower()
                             for c in sandbox.state.contacts.values())
        out["crm writes"] = writes
        out["crm contacts"] = sum(c for e, c in emails.items() if e.startswith(tally.name))
        out["crm doubled"] = sum(1 for e, c in emails.items() if e.startswith(tally.name) and c > 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller scenarios (about a minute)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' logs (their folder is printed)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    quick = args.quick
    leads, outage, fuzz_n = (60, 4.0, 1500) if quick else (2000, 20.0, 10000)
    workdir = Path(tempfile.mkdtemp(prefix="leadwire-chaos-"))
    tallies = {name: Tally(name) for name in SCENARIOS}
    with ExitStack() as stack:
        if not args.keep_logs:
            stack.callback(shutil.rmtree, workdir, True)
        pg = stack.enter_context(postgresql_server(durable=True))
        db_url = migrated_database(pg, "chaos")
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(redis.stop)
        sandbox = Sandbox()
        sandbox.start()
        stack.callback(sandbox.stop)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "LEADWIRE_"))},
               "DATABASE_URL": db_url, "REDIS_URL": redis.url, "WEBSITE_FORM_SECRET": FORM_SECRET,
               "LEADWIRE_FLOWS": str(REPO / "flows.yaml"), "LEADWIRE_SECRET_KEY": secrets.token_hex(32),
               "LEADWIRE_API_KEY": API_KEY, "LEADWIRE_ADMIN_PASSWORD": "chaos-admin-" + secrets.token_hex(4),
               "HUBSPOT_CLIENT_SECRET": secrets.token_hex(16), "LEADWIRE_PUBLIC_URL": "http://127.0.0.1:9",
               "SALESFORCE_OUTBOUND_KEY": secrets.token_hex(16), "SALESFORCE_ORG_ID": "00D000000000001AAA",
               **crm_env(sandbox)}
        base = stack.enter_context(gunicorn("wsgi:app", env))
        workers = Workers(env, 2, workdir)
        stack.callback(workers.stop)
        postgres = Postgres(db_url)
        started = time.monotonic()

        def redis_down():
            time.sleep(outage / 2)
            redis.stop()
            time.sleep(outage)
            redis.start()

        def postgres_down():
            time.sleep(outage / 2)
            postgres.stop()
            time.sleep(outage)
            postgres.start()

        stop_killing = threading.Event()

        def killer():
            kill_rng = random.Random(args.seed + 1)
            while not stop_killing.wait(1.0):
                workers.kill_one(kill_rng)

        def crm_down():
            time.sleep(outage / 2)
            sandbox.set_faults(outage=True)
            time.sleep(outage)
            sandbox.set_faults(outage=False)

        while_sending(base, tallies["crm"], leads, 1, rng, outage * 2, crm_down)
        while_sending(base, tallies["redis"], leads, 1, rng, outage * 2, redis_down)
        while_sending(base, tallies["postgres"], leads, 1, rng, outage * 2, postgres_down)
        killing = threading.Thread(target=killer, daemon=True)
        killing.start()
        send_leads(base, tallies["kills"], leads, 3, rng, outage * 2)
        stop_killing.set()
        killing.join()
        run_fuzz(base, tallies["fuzz"], fuzz_requests(routes(env), fuzz_n, rng))
        waiting = settle(db_url, 90 if quick else 300)
        results = {name: figures(db_url, tally, sandbox if name == "crm" else None) for name, tally in tallies.items()}
        exited = workers.exited()
        elapsed = time.monotonic() - started

    print(f"{'scenario':10s} {'sent':>6s} {'requests':>8s} {'acked':>6s} {'leads':>6s} {'lost':>5s} {'doubled':>7s}"
          f" {'503':>5s} {'5xx':>5s}  notes")
    for name, r in results.items():
        notes = {"kills": f"{workers.kills} SIGKILLs",
                 "crm": f"outbox {r.get('crm writes')}, HubSpot contacts {r.get('crm contacts')}, "
                        f"doubled {r.get('crm doubled')}",
                 "fuzz": f"{r['requests']} fuzzed requests"}.get(name, "")
        if r["no answer"]:
            notes += f" ({r['no answer']} without an answer)"
        print(f"{name:10s} {r['sent']:6d} {r['requests']:8d} {r['acknowledged']:6d} {r['leads']:6d} {r['lost']:5d}"
              f" {r['doubled']:7d} {r['503']:5d} {r['5xx']:5d}  {notes}")
    causes: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for tally in tallies.values():
        causes.update(tally.causes)
        examples.update(tally.examples)
    for cause, count in causes.most_common(20):
        print(f"  {count:5d} × {cause}" + (f"   e.g. {examples[cause]}" if examples.get(cause) else ""))
    print(f"inbox rows and CRM writes still waiting at the end: {waiting}; workers exited on their own: {exited}; "
          f"{elapsed:.0f} s" + (f"; worker logs in {workdir}" if args.keep_logs else ""))
    lost = sum(r["lost"] for r in results.values())
    doubled = sum(r["doubled"] for r in results.values())
    fives = sum(r["5xx"] for r in results.values())
    total = sum(r["requests"] for r in results.values())
    print(f"chaos: {lost} lost, {doubled} doubled, {fives} × 5xx over {total} requests "
          f"({results['fuzz']['requests']} fuzzed), {workers.kills} worker kills, Redis, PostgreSQL and CRM outages")


if __name__ == "__main__":
    main()
