"""Signed web-form capture throughput and latency: gunicorn (2 workers) + PostgreSQL + Redis,
beside a bare Flask endpoint that only returns 202 (this machine's ceiling).

    .venv/bin/python bench/capture.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import secrets
import time

from _support import REPO, gunicorn, load, migrated_database, postgresql_server, redis_server

from connector.core.signing import sign


def make_requests(n: int, secret: str) -> list[tuple[bytes, dict]]:
    now = int(time.time())
    reqs = []
    for i in range(n):
        body = json.dumps({"first_name": f"Bench{i}", "last_name": "Lead", "email": f"bench{i}@example{i % 97}.com",
                           "phone": f"+1 415 555 {i % 10000:04d}", "company": f"Example {i % 97} Inc",
                           "country": "US"}).encode()
        reqs.append((body, {"Content-Type": "application/json", "X-Leadwire-Signature": sign(secret, body, now)}))
    return reqs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests (under a minute)")
    args = parser.parse_args()
    n = 1500 if args.quick else 6000
    secret = secrets.token_hex(16)
    with postgresql_server() as pg, redis_server() as redis_url:
        env = {"DATABASE_URL": migrated_database(pg), "REDIS_URL": redis_url, "WEBSITE_FORM_SECRET": secret,
               "LEADWIRE_FLOWS": str(REPO / "flows.yaml"), "LEADWIRE_SECRET_KEY": secrets.token_hex(32)}
        with gunicorn("bench.bare_app:app", {}) as url:
            load(f"{url}/hooks/forms/website", make_requests(200, secret))  # warm up
            bare = load(f"{url}/hooks/forms/website", make_requests(n, secret))
        with gunicorn("wsgi:app", env) as url:
            load(f"{url}/hooks/forms/website", make_requests(200, "warm-" + secret))  # warm up (401s)
            real = load(f"{url}/hooks/forms/website", make_requests(n, secret))
    for name, r in (("bare Flask 202 (ceiling)", bare), ("Leadwire signed form capture", real)):
        print(f"{name:32s} {r['per_second']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms"
              f"  statuses {r['statuses']}")
    print(f"capture: {real['per_second']:.0f} accepted webhooks/s (p50 {real['p50_ms']:.1f} ms, p99 "
          f"{real['p99_ms']:.1f} ms) vs ceiling {bare['per_second']:.0f} req/s on gunicorn 2 workers + PostgreSQL")


if __name__ == "__main__":
    main()
