"""Routing fixtures: a runtime on the routing test flows, a real SMTP server (aiosmtpd), lead and rep helpers."""
from __future__ import annotations

import json
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.support.servers import free_port

DATA = Path(__file__).parent / "data"


class Inbox:
    """Messages received by the aiosmtpd server, as parsed e-mails."""

    def __init__(self):
        self.messages = []
        self._cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self._cond:
            self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
            self._cond.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp():
    """A real SMTP server on a free loopback port; yields (url, inbox)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", inbox
    controller.stop()


@pytest.fixture
def routing_rt(make_runtime, sqlite_url, smtp):
    """SQLite, inline jobs, the fake clock, the routing test flows, and the SMTP server."""
    return make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=smtp[0])


def add_reps(rt, *records: dict) -> dict[str, int]:
    """Import reps; returns {email: id}."""
    from connector.routing import reps
    from connector.store.models import Rep

    reps.import_records(rt, list(enumerate(records)))
    with rt.db.session() as s:
        return {r.email: r.id for r in s.query(Rep)}


def capture(rt, **fields) -> int:
    """Capture one lead through the API source; returns the lead id."""
    from connector.capture import inbox as uc
    from connector.store.models import InboxItem

    fields.setdefault("email", f"lead{id(fields)}@acme.example")
    raw = json.dumps(fields).encode()
    receipt = uc.accept(rt, source="api", channel="api", raw=raw, payload=fields,
                        idempotency_key=uc.idempotency_key(raw, None))
    assert not receipt.errors, receipt.errors
    with rt.db.session() as s:
        return s.get(InboxItem, receipt.inbox_id).lead_id


def offers_of(rt, lead_id: int) -> list:
    from sqlalchemy import select

    from connector.store.models import Offer

    with rt.db.session() as s:
        return list(s.scalars(select(Offer).where(Offer.lead_id == lead_id).order_by(Offer.id)))


def lead_of(rt, lead_id: int):
    from connector.store.models import Lead

    with rt.db.session() as s:
        return s.get(Lead, lead_id)


NA_REPS = [
    {"email": "ann@na.example", "name": "Ann", "team": "na", "countries": ["US"], "manager_email": "boss@na.example"},
    {"email": "bob@na.example", "name": "Bob", "team": "na", "countries": ["US"]},
    {"email": "cy@na.example", "name": "Cy", "team": "na", "countries": ["US"]},
    {"email": "dee@na.example", "name": "Dee", "team": "na", "countries": ["CA"]},
]


AUTH = {"Authorization": "Bearer test-api-key-0123456789"}


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


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def phone_browser():
    """Headless Debian Chromium (Playwright) with a phone-sized viewport; yields a page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        yield context.new_page()
        browser.close()
