"""Fixtures for the dashboard and analytics API: the app on the seeded data set, with a password.

Analytics reads only the tables, so these runtimes carry no flow spec (flows.yaml is not needed).
The admin password is in tests/support/analytics.py.
"""
from __future__ import annotations

import pytest

from tests.analytics.seed import seed
from tests.support.analytics import PASSWORD
from tests.support.dashboard import post_login
from tests.support.runtime import deployment_env


@pytest.fixture
def analytics_app(clock):
    """make(db_url, **env) -> (app, runtime): the real app on a migrated database, inline jobs."""
    from connector.core.config import load_settings
    from connector.core.runtime import Runtime
    from connector.jobs.backends import InlineQueue
    from connector.store import Database
    from connector.web import create_app

    made = []

    def make(db_url: str, **env):
        settings = load_settings(deployment_env(db_url, **env))
        rt = Runtime(settings=settings, db=Database(settings.database_url), queue=InlineQueue(), clock=clock, spec=None)
        rt.queue.runtime = rt
        made.append(rt)
        return create_app(runtime=rt), rt

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def seeded(analytics_app, sqlite_url):
    """(app, ids): the app on SQLite with the seeded data set and an admin password."""
    app, rt = analytics_app(sqlite_url, LEADWIRE_ADMIN_PASSWORD=PASSWORD)
    return app, seed(rt.db)


@pytest.fixture
def dash(seeded):
    """A test client already logged in to the dashboard, and the seeded ids."""
    app, ids = seeded
    client = app.test_client()
    resp = post_login(client, PASSWORD, "/dashboard")
    assert resp.status_code == 302
    return client, ids
