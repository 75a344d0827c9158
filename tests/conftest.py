"""Shared fixtures: real PostgreSQL and Redis servers, fresh databases, a fake clock."""
from __future__ import annotations

import itertools
import os

import pytest
from sqlalchemy import create_engine, text

from connector.clock import FakeClock
from connector.store import Database
from tests.support.servers import postgresql_server, redis_server

_names = itertools.count(1)


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
    name = f"t{os.getpid()}_{next(_names)}"
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
