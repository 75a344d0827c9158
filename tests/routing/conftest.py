"""Routing fixtures: a runtime on the routing test flows, a real SMTP server (aiosmtpd), a phone-sized Chromium.

Lead and rep helpers are in tests/support/routing.py."""
from __future__ import annotations

import threading

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.routing import DATA
from tests.support.servers import free_port


@pytest.fixture
def smtp(mailbox):
    """A real SMTP server on a free loopback port; yields (url, mailbox)."""
    return mailbox.url, mailbox


@pytest.fixture
def routing_rt(make_runtime, sqlite_url, smtp):
    """SQLite, inline jobs, the fake clock, the routing test flows, and the SMTP server."""
    return make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=smtp[0])


@pytest.fixture
def client_for():
    """A Flask test client for a given runtime."""
    from connector.web import create_app

    return lambda rt: create_app(runtime=rt).test_client()


@pytest.fixture
def live_routing(make_runtime, sqlite_url, smtp):
    """The app over real HTTP on a free port, its offer links pointing there; yields (runtime, base URL)."""
    from werkzeug.serving import make_server

    from connector.web import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=smtp[0], LEADWIRE_BASE_URL=base)
    server = make_server("127.0.0.1", port, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rt, base
    server.shutdown()
    thread.join(5)


@pytest.fixture
def phone_browser():
    """Headless Debian Chromium (Playwright) with a phone-sized viewport; yields a page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        yield context.new_page()
        browser.close()
