"""Shared bench plumbing: servers on loopback, gunicorn, and a multi-process HTTP load generator."""
from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.servers import free_port, postgresql_server, redis_server  # noqa: E402

__all__ = ["REPO", "free_port", "postgresql_server", "redis_server", "migrated_database", "gunicorn", "load",
           "percentile"]


def migrated_database(server_url: str, name: str = "bench") -> str:
    """Create database `name` on a PostgreSQL server, migrate it to head, and return its URL."""
    from sqlalchemy import create_engine, text

    from connector.store import Database

    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    db = Database(f"{server_url}/{name}")
    db.upgrade()
    db.dispose()
    return f"{server_url}/{name}"


class gunicorn:
    """`gunicorn APP` with `workers` workers on a free port, as a context manager yielding its URL."""

    def __init__(self, app: str, env: dict, workers: int = 2):
        self.app, self.env, self.workers, self.port = app, env, workers, free_port()

    def __enter__(self) -> str:
        cmd = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--bind",
               f"127.0.0.1:{self.port}", "--log-level", "warning", "--chdir", str(REPO), self.app]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, start_new_session=True)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/healthz", timeout=1)
                return url
            except requests.RequestException:  # not listening yet, or still booting (slow under load)
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn {self.app} did not start")

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)


def _worker(args):
    url, requests_list, threads = args
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=threads, pool_maxsize=threads)
    session.mount("http://", adapter)

    def one(req):
        body, headers = req
        start = time.perf_counter()
        resp = session.post(url, data=body, headers=headers, timeout=30)
        return time.perf_counter() - start, resp.status_code

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, requests_list))


def load(url: str, reqs: list[tuple[bytes, dict]], processes: int = 2, threads: int = 8) -> dict:
    """POST every request (concurrently from `processes` x `threads`); rate and latency figures."""
    chunks = [(url, reqs[i::processes], threads) for i in range(processes)]
    start = time.perf_counter()
    with Pool(processes) as pool:
        results = [r for chunk in pool.map(_worker, chunks) for r in chunk]
    elapsed = time.perf_counter() - start
    latencies = sorted(r[0] for r in results)
    statuses: dict[int, int] = {}
    for _, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"requests": len(results), "per_second": len(results) / elapsed, "statuses": statuses,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "mean_ms": statistics.fmean(latencies) * 1000}


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]
