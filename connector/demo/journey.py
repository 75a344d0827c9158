"""`leadwire demo`: the whole journey on the embedded default, against a real local HTTP server.

Stages run in order and each returns figures for the summary: capture (signed web-form posts, with
redeliveries), then the later stages as the product grows (offers, feedback, CRM sync).
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from connector.core.clock import FakeClock, utcnow
from connector.core.config import Settings, load_settings
from connector.core.runtime import Runtime
from connector.core.signing import sign
from connector.demo.feedback_players import play_feedback
from connector.demo.lifecycle_players import play_lifecycle
from connector.demo.mailbox import Mailbox
from connector.demo.offer_players import play_offers
from connector.demo.sandbox import Sandbox
from connector.jobs.backends import ThreadQueue
from connector.jobs.boot import build_runtime
from connector.routing import reps
from connector.store.models import InboxItem, Lead, TimelineEvent
from connector.store.statuses import InboxStatus, LeadStatus
from connector.sync import drain
from connector.sync.owners import sync_owners
from connector.web import create_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
REDELIVERED = 3


def demo_settings(workdir: Path, **extra: str) -> Settings:
    """Embedded default (SQLite file, in-process jobs) with fresh demo secrets."""
    flows = workdir / "flows.yaml" if (workdir / "flows.yaml").exists() else REPO / "flows.yaml"
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'leadwire-demo.db'}", "LEADWIRE_FLOWS": str(flows),
           "LEADWIRE_API_KEY": secrets.token_hex(16), "LEADWIRE_SECRET_KEY": secrets.token_hex(32),
           "WEBSITE_FORM_SECRET": secrets.token_hex(16), "LEADWIRE_ADMIN_PASSWORD": "demo"}
    env.update(extra)
    return load_settings(env)


@contextmanager
def serving(rt: Runtime) -> Iterator[str]:
    """The app on a free loopback port, over real HTTP; yields its base URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def post_signed(http: requests.Session, base: str, secret: str, body: bytes,
                source: str = "website") -> requests.Response:
    headers = {"Content-Type": "application/json", "X-Leadwire-Signature": sign(secret, body, int(time.time()))}
    return http.post(f"{base}/hooks/forms/{source}", data=body, headers=headers, timeout=30)


def capture_stage(rt: Runtime, base: str, leads_file: Path) -> dict[str, Any]:
    """Post every sample lead through the signed webhook (a few twice), wait until all are processed."""
    secret = rt.settings.secret("WEBSITE_FORM_SECRET")
    if not secret:
        raise RuntimeError("the demo needs WEBSITE_FORM_SECRET to sign its web-form posts")
    bodies = [line.strip().encode() for line in leads_file.read_text().splitlines() if line.strip()]
    counts: dict[str, Any] = {"posted": 0, "captured": 0, "rejected": 0, "redelivered": 0}
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
        counts["duplicates"] = (linked or 0) + (merged or 0)
        counts["by_outcome"] = dict(s.execute(select(Lead.outcome, func.count())
                                              .group_by(Lead.outcome)).tuples().all())
        counts["mql_levels"] = {str(k): v for k, v in s.execute(
            select(Lead.mql_level, func.count()).where(Lead.mql_level.is_not(None)).group_by(Lead.mql_level))}
    return counts


def still_escalated(rt: Runtime) -> int:
    """Leads escalated and still waiting for a person at the end of the journey."""
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(Lead).where(Lead.status == LeadStatus.ESCALATED)) or 0


def wait_processed(rt: Runtime, timeout: float = 60) -> None:
    """Until no inbox row is waiting (jobs run in the in-process worker threads)."""
    deadline = time.monotonic() + timeout
    waiting = None
    while time.monotonic() < deadline:
        if isinstance(rt.queue, ThreadQueue):
            rt.queue.wait_idle(timeout=1)
        with rt.db.session() as s:
            waiting = s.scalar(select(func.count()).select_from(InboxItem)
                               .where(InboxItem.status == InboxStatus.RECEIVED))
        if not waiting:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{waiting} captured leads were still waiting after {timeout:.0f}s")


def crm_env(sandbox: Sandbox) -> dict[str, str]:
    """Point both CRM adapters at the sandbox."""
    return {"HUBSPOT_ACCESS_TOKEN": "demo-hubspot-token", "HUBSPOT_API_BASE": sandbox.base_url,
            "SALESFORCE_INSTANCE_URL": sandbox.tls_url, "SALESFORCE_ACCESS_TOKEN": "demo-salesforce-token",
            "SALESFORCE_CA_BUNDLE": sandbox.ca_file}


def reps_stage(rt: Runtime, sandbox: Sandbox) -> dict[str, Any]:
    """Load the sample sales network, and give every rep a CRM owner id from the sandbox's users."""
    records = reps.read_yaml(EXAMPLES / "reps.yaml")
    loaded = reps.import_records(rt, records, where=str(EXAMPLES / "reps.yaml"))
    for _line, record in records:
        sandbox.state.add_owner(record["email"], *record.get("name", " ").split(" ", 1))
        sandbox.state.add_user(record["email"], record.get("name", ""))
    owners = {crm: sync_owners(rt, crm) for crm in ("hubspot", "salesforce")}
    return {"reps": loaded["created"] + loaded["updated"], "owner_ids": owners}


def crm_stage(rt: Runtime, sandbox: Sandbox, clock: FakeClock) -> dict[str, int]:
    """Drain the outbox to both CRMs until nothing is pending (retries come due as `clock` moves on five minutes
    at a time); count writes, API calls and parked records."""
    for _ in range(50):
        for crm in ("hubspot", "salesforce"):
            drain.drain(rt, crm, now=clock.now())
        with rt.db.session() as s:
            counts = drain.status(s)
        if not any(c["pending"] + c["failed"] for c in counts.values()):
            break
        clock.advance(minutes=5)
    return {"crm_writes": sum(c["sent"] for c in counts.values()),
            "crm_parked": sum(c["parked"] for c in counts.values()),
            "crm_api_calls": sandbox.calls("")}


def run(workdir: Path, leads_file: Path | None = None) -> dict[str, Any]:
    """Run every stage on a fresh demo database in `workdir`; return the summary figures."""
    for old in workdir.glob("leadwire-demo.db*"):
        old.unlink()
    clock = FakeClock(utcnow())
    sandbox = Sandbox(clock=clock)
    sandbox.start()
    with Mailbox() as mailbox:
        settings = demo_settings(workdir, SMTP_URL=mailbox.url, **crm_env(sandbox))
        rt = build_runtime(settings, queue="thread", clock=clock)
        try:
            summary = reps_stage(rt, sandbox)
            with serving(rt) as base:
                summary.update(capture_stage(rt, base, leads_file or EXAMPLES / "webform_leads.jsonl"))
                summary.update(play_offers(rt, clock, mailbox))
                summary.update(play_feedback(rt, clock, mailbox))
                with requests.Session() as http:
                    secret = rt.settings.secret("WEBSITE_FORM_SECRET") or ""
                    summary.update(play_lifecycle(rt, clock, mailbox, base,
                                                  lambda body: post_signed(http, base, secret, body),
                                                  lambda: wait_processed(rt)))
            summary.update(crm_stage(rt, sandbox, clock))
            summary["escalated_at_end"] = still_escalated(rt)  # as the dashboard counts them, after every stage
            summary["emails"] = len(mailbox.messages)
            summary["database"] = rt.settings.database_url
            return summary
        finally:
            rt.close()
            sandbox.stop()


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, sort_keys=True, default=str)
