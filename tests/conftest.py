"""Shared fixtures: real PostgreSQL, Redis and SMTP servers, fresh databases, a fake clock, the application.

Helpers and constants live in tests/support (runtime.py: the deployment environment and its secrets)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from connector.core.clock import FakeClock
from connector.demo.mailbox import Mailbox
from connector.store import Database
from tests.support.runtime import database_name, deployment_env
from tests.support.servers import postgresql_server, redis_server


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL cluster for the session, with a migrated template database."""
    with postgresql_server() as server:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE leadwire_template"))
        template = Database(f"{server}/leadwire_template")
        template.upgrade()
        template.dispose()
        yield server, admin
        admin.dispose()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, migrated PostgreSQL database for one test."""
    server, admin = pg_server
    name = database_name()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE leadwire_template"))
    yield f"{server}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh, migrated SQLite database file for one test."""
    url = f"sqlite:///{tmp_path / 'leadwire.db'}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_url")


@pytest.fixture
def db(db_url):
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def redis_server_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url):
    """A real Redis, flushed before each test."""
    import redis

    conn = redis.Redis.from_url(redis_server_url)
    conn.flushall()
    conn.close()
    return redis_server_url


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def mailbox():
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives; see Mailbox."""
    with Mailbox() as box:
        yield box


# --- the application ---------------------------------------------------------------------------

@pytest.fixture
def make_runtime(clock):
    """Build runtimes on a given database URL (inline queue and the fake clock by default)."""
    from connector.core.config import load_settings
    from connector.jobs.boot import build_runtime

    made = []

    def make(db_url: str, *, queue="inline", **env):
        rt = build_runtime(load_settings(deployment_env(db_url, **env)), queue=queue, clock=clock)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def runtime(make_runtime, sqlite_url):
    """A runtime on a fresh SQLite database, inline jobs, fake clock, the repo's flows.yaml."""
    return make_runtime(sqlite_url)


@pytest.fixture
def app(runtime):
    from connector.web import create_app

    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The app over real HTTP on a free loopback port; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
