"""Starting a deployment: LEADWIRE_SECRET_KEY is required with shared servers, `leadwire db upgrade` is the
one way to migrate PostgreSQL (under an advisory lock), and processes refuse an unmigrated database while
the embedded SQLite default still migrates itself."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from connector.core.config import load_settings
from connector.core.errors import ConfigError
from connector.jobs.boot import build_runtime
from connector.store.db import MIGRATION_LOCK
from tests.support.runtime import REPO, database_name, deployment_env


@pytest.mark.parametrize("env", [{"DATABASE_URL": "postgresql://db/leadwire"},
                                 {"REDIS_URL": "redis://127.0.0.1:6379/0"}], ids=["postgresql", "redis"])
def test_a_shared_server_without_a_secret_key_stops_the_start_naming_it(env):
    with pytest.raises(ConfigError, match="LEADWIRE_SECRET_KEY is required when"):
        load_settings(env)
    assert load_settings({**env, "LEADWIRE_SECRET_KEY": "s" * 32}).secret_key == "s" * 32
    assert load_settings({}).secret_key  # the embedded default still makes one


@pytest.fixture
def empty_pg(pg_server):
    server, admin = pg_server
    name = database_name()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield f"{server}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _leadwire(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "connector", *args], env={**os.environ, **env}, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_processes_refuse_an_unmigrated_postgresql_and_say_to_run_db_upgrade(empty_pg):
    with pytest.raises(ConfigError, match="run `leadwire db upgrade`"):
        build_runtime(load_settings(deployment_env(empty_pg)), queue="inline")
    check = _leadwire(deployment_env(empty_pg), "db", "check")
    _, err = check.communicate(timeout=60)
    assert check.returncode == 1 and "leadwire db upgrade" in err


def test_the_embedded_sqlite_default_migrates_itself(tmp_path):
    rt = build_runtime(load_settings(deployment_env(f"sqlite:///{tmp_path / 'fresh.db'}")), queue="inline")
    try:
        assert rt.db.schema_lag() is None
    finally:
        rt.close()


def test_two_concurrent_upgrades_one_waits_for_the_other_and_both_succeed(empty_pg):
    env = deployment_env(empty_pg)
    holder = create_engine(empty_pg)
    with holder.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        lock.commit()
        upgrades = [_leadwire(env, "db", "upgrade") for _ in range(2)]
        deadline = time.monotonic() + 120  # only a safety net: the loop ends when both are seen waiting
        waiting = 0
        while waiting < 2 and time.monotonic() < deadline:
            waiting = lock.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one()
            lock.commit()
            time.sleep(0.05)
        assert waiting == 2 and all(p.poll() is None for p in upgrades)
        lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        lock.commit()
    holder.dispose()
    for proc in upgrades:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "newest schema" in out
    rt = build_runtime(load_settings(env), queue="inline")  # now it starts
    rt.close()
