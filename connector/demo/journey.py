"""`leadwire demo`: the whole journey on the embedded default, against a real local HTTP server.

Stages run in order and each returns figures for the summary: capture (signed web-form posts, with
redeliveries), then the later stages as the product grows (offers, feedback, CRM sync).
"""
from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path

import requests
from sqlalchemy import func, select

from connector.core.clock import FakeClock, utcnow
from connector.core.config import load_settings
from connector.core.runtime import Runtime
from connector.core.signing import sign
from connector.demo.feedback_players import play_feedback
from connector.demo.offer_players import play_offers
from connector.demo.sandbox import Sandbox
from connector.jobs.boot import build_runtime
from connector.routing import reps
from connector.store.models import InboxItem, Lead, TimelineEvent
from connector.sync import drain
from connector.sync.owners import sync_owners
from connector.web import create_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
REDELIVERED = 3


def demo_settings(workdir: Path, **extra):
    """Embedded default (SQLite file, in-process jobs) with fresh demo secrets."""
    flows = workdir / "flows.yaml" if (workdir / "flows.yaml").exists() else REPO / "flows.yaml"
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'leadwire-demo.db'}", "LEADWIRE_FLOWS": str(flows),
           "LEADWIRE_API_KEY": secrets.token_hex(16), "LEADWIRE_SECRET_KEY": secrets.token_hex(32),
           "WEBSITE_FORM_SECRET": secrets.token_hex(16), "LEADWIRE_ADMIN_PASSWORD": "demo"}
    env.update(extra)
    return load_settings(env)


@contextmanager
def serving(rt: Runtime):
    """The app on a free loopback port, over real HTTP; yields its base URL."""
    from werkzeug.serving import make_server


    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def post_signed(http: requests.Session, base: str, secret: str, body: bytes, source: str = "website"):
    headers = {"Content-Type": "application/json", "X-Leadwire-Signature": sign(secret, body, int(time.time()))}
    return http.post(f"{base}/hooks/forms/{source}", data=body, headers=headers, timeout=30)


def capture_stage(rt: Runtime, base: str, leads_file: Path) -> dict:
    """Post every sample lead through the signed webhook (a few twice), wait until all are processed."""
    secret = rt.settings.secret("WEBSITE_FORM_SECRET")
    bodies = [line.strip().encode() for line in leads_file.read_text().splitlines() if line.strip()]
    counts = {"posted": 0, "captured": 0, "rejected": 0, "redelivered": 0}
    with requests.Session() as http:
        for body in bodies + bodies[:REDELIVERED]:
            resp = post_signed(http, base, secret, body)
            counts["posted"] += 1
            if resp.status_code == 202 and resp.json().get("replayed"):
                counts["redelivered"] += 1
            elif resp.status_code == 202:
                counts["captured"] += 1
            elif resp.status_code == 422:
                counts["rejected"] += 1
            else:
                raise RuntimeError(f"demo post answered {resp.status_code}: {resp.text[:200]}")
    wait_processed(rt)
    with rt.db.session() as s:
        counts["leads"] = s.scalar(select(func.count()).select_from(Lead))
        linked = s.scalar(select(func.count()).select_from(Lead).where(Lead.outcome == "duplicate"))
        merged = s.scalar(select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == "duplicate"))
        counts["duplicates"] = linked + merged
        counts["by_outcome"] = dict(s.execute(select(Lead.outcome, func.count()).group_by(Lead.outcome)).all())
        counts["mql_levels"] = {str(k): v for k, v in s.execute(
            select(Lead.mql_level, func.count()).where(Lead.mql_level.is_not(None)).group_by(Lead.mql_level))}
    return counts


def wait_processed(rt: Runtime, timeout: float = 60) -> None:
    """Until no inbox row is waiting (jobs run in the in-process worker threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rt.queue.wait_idle(timeout=1)
        with rt.db.session() as s:
            waiting = s.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == "received"))
        if not waiting:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{waiting} captured leads were still waiting after {timeout:.0f}s")


class LocalSmtp:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def __enter__(self) -> LocalSmtp:
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.controller.port}"
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def crm_env(sandbox) -> dict:
    """Point both CRM adapters at the sandbox."""
    return {"HUBSPOT_ACCESS_TOKEN": "demo-hubspot-token", "HUBSPOT_API_BASE": sandbox.base_url,
            "SALESFORCE_INSTANCE_URL": sandbox.tls_url, "SALESFORCE_ACCESS_TOKEN": "demo-salesforce-token",
            "SALESFORCE_CA_BUNDLE": sandbox.ca_file}


def reps_stage(rt, sandbox) -> dict:
    """Load the sample sales network, and give every rep a CRM owner id from the sandbox's users."""
    records = reps.read_file(EXAMPLES / "reps.yaml")
    loaded = reps.import_records(rt, records, where=str(EXAMPLES / "reps.yaml"))
    for _line, record in records:
        sandbox.state.add_owner(record["email"], *record.get("name", " ").split(" ", 1))
        sandbox.state.add_user(record["email"], record.get("name", ""))
    owners = {crm: sync_owners(rt, crm) for crm in ("hubspot", "salesforce")}
    return {"reps": loaded["created"] + loaded["updated"], "owner_ids": owners}


def crm_stage(rt, sandbox) -> dict:
    """Drain the outbox to both CRMs until nothing is pending; count writes, API calls and parked records."""
    for _ in range(50):
        for crm in ("hubspot", "salesforce"):
            drain.drain(rt, crm, now=rt.clock.now())
        with rt.db.session() as s:
            counts = drain.status(s)
        if not any(c["pending"] + c["failed"] for c in counts.values()):
            break
        rt.clock.advance(minutes=5)
    return {"crm_writes": sum(c["sent"] for c in counts.values()),
            "crm_parked": sum(c["parked"] for c in counts.values()),
            "crm_api_calls": sandbox.calls("")}


def run(workdir: Path, leads_file: Path | None = None) -> dict:
    """Run every stage on a fresh demo database in `workdir`; return the summary figures."""
    for old in workdir.glob("leadwire-demo.db*"):
        old.unlink()
    clock = FakeClock(utcnow())
    sandbox = Sandbox(clock=clock)
    sandbox.start()
    with LocalSmtp() as smtp:
        settings = demo_settings(workdir, SMTP_URL=smtp.url, **crm_env(sandbox))
        rt = build_runtime(settings, queue="thread", clock=clock)
        try:
            summary = reps_stage(rt, sandbox)
            with serving(rt) as base:
                summary.update(capture_stage(rt, base, leads_file or EXAMPLES / "webform_leads.jsonl"))
                summary.update(play_offers(rt, clock, smtp))
                summary.update(play_feedback(rt, clock, smtp))
            summary.update(crm_stage(rt, sandbox))
            summary["emails"] = len(smtp.messages)
            summary["database"] = rt.settings.database_url
            return summary
        finally:
            rt.close()
            sandbox.stop()


def summary_json(summary: dict) -> str:
    return json.dumps(summary, sort_keys=True, default=str)
