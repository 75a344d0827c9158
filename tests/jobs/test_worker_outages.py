"""`leadwire worker` outlives outages: a Redis restart under two workers ends neither, both go on to run
the jobs queued after it, and the worker that loses the tick lock logs no error for it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from connector.jobs import worker
from connector.store.models import InboxItem
from connector.web import create_app
from tests.capture.test_form_hook import ADA
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET, REPO, deployment_env
from tests.support.servers import free_port

GONE = "could not connect to Redis"  # RQ's idle loop, retrying
DEADLINE = 90.0  # seconds an event may take on a loaded machine before the test gives up waiting


@contextmanager
def redis_on(port: int, workdir: Path):
    """redis-server on this loopback port until the block ends (no persistence)."""
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", "redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def wait_for(done, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not done():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.1)


def processed(rt, inbox_id: int) -> bool:
    with rt.db.session() as s:
        return s.scalar(select(InboxItem.status).where(InboxItem.id == inbox_id)) == "processed"


def test_two_workers_survive_a_redis_restart_and_run_the_jobs_queued_after_it(make_runtime, pg_url, tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "LEADWIRE_"))},
           **deployment_env(pg_url, REDIS_URL=url)}
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    with redis_on(port, tmp_path):
        workers = [subprocess.Popen([sys.executable, "-m", "connector", "worker"], cwd=REPO, env=env,
                                    stdout=subprocess.DEVNULL, stderr=log.open("w")) for log in logs]
        try:
            web = make_runtime(pg_url, queue="rq", REDIS_URL=url)
            client = create_app(runtime=web).test_client()
            first = post_form(client, FORM_SECRET, ADA).json["id"]
            wait_for(lambda: processed(web, first), "the job queued before the outage")
            time.sleep(3 * 2.0)  # a few ticks: one worker takes the tick lock, the other loses it each time
        except BaseException:
            for w in workers:
                w.kill()
            raise
    try:
        wait_for(lambda: all(GONE in log.read_text() or "lost Redis" in log.read_text() for log in logs),
                 "both workers to see Redis go")
        assert [w.poll() for w in workers] == [None, None]  # neither exited
        with redis_on(port, tmp_path):
            second = post_form(client, FORM_SECRET, {**ADA, "email": "grace.hopper@example.com"}).json["id"]
            wait_for(lambda: processed(web, second), "the job queued after the restart")
            assert [w.poll() for w in workers] == [None, None]
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(20)
    text = "".join(log.read_text() for log in logs)
    assert "Traceback" not in text and "LockError" not in text, text[-3000:]


def test_a_worker_started_while_the_database_is_down_waits_with_backoff(monkeypatch):
    attempts, sleeps = [], []

    def build():
        attempts.append(1)
        if len(attempts) < 4:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError())
        return "runtime"

    monkeypatch.setattr(worker, "_rt", build)
    assert worker._connected(sleeps.append) == "runtime"
    assert sleeps == [0.5, 1.0, 2.0]  # RECONNECT: doubling from half a second
