"""Feedback fixtures: a runtime on a feedback-focused spec, a real SMTP server, a test client.

The spec, the runtime builder and the rep and lead helpers are in tests/support/pursuit.py."""
from __future__ import annotations

import pytest

from tests.support.pursuit import build


@pytest.fixture
def smtp_inbox(mailbox):
    """A real SMTP server (aiosmtpd) on a free port; yields (mailbox, smtp url)."""
    return mailbox, mailbox.url


@pytest.fixture
def fb_rt(sqlite_url, clock, smtp_inbox):
    rt = build(sqlite_url, clock, smtp_inbox[1])
    yield rt
    rt.close()


@pytest.fixture
def fb_rt_any(db_url, clock, smtp_inbox):
    """The same runtime on SQLite and on PostgreSQL."""
    rt = build(db_url, clock, smtp_inbox[1])
    yield rt
    rt.close()


@pytest.fixture
def fb_client(fb_rt):
    from connector.web import create_app

    return create_app(runtime=fb_rt).test_client()
