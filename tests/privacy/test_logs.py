"""Logs carry ids, never lead values: a whole journey logged at DEBUG names no e-mail or phone it sent,
a failing SQL statement keeps its values out of the error text, and RQ jobs carry ids only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue as RQ
from rq.serializers import JSONSerializer
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from connector.flows.normalize import phone
from connector.store.models import Lead
from connector.web import create_app
from tests.capture.test_form_hook import ADA
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET

REPO = Path(__file__).resolve().parents[2]
# the demo's stand-in SMTP server (aiosmtpd, playing the reps' mail provider) logs what it receives under
# this name; it is the receiving side, not Leadwire
RECEIVER = " mail.log: "


def personal_values(payloads: list[dict]) -> set[str]:
    """Every e-mail and phone number of these payloads, as sent and as Leadwire stores them (E.164)."""
    values: set[str] = set()
    for payload in payloads:
        if payload.get("email"):
            values |= {str(payload["email"]).strip().lower()}
        if sum(c.isdigit() for c in str(payload.get("phone") or "")) >= 7:  # not the demo's bad "12"
            values.add(str(payload["phone"]))
            try:
                values.add(phone(str(payload["phone"]), "US"))
            except ValueError:
                pass
    return values


def test_a_whole_demo_journey_logged_at_debug_names_no_email_or_phone_it_sent(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "LEADWIRE_"))}
    proc = subprocess.run([sys.executable, "-m", "connector", "-v", "demo", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [line for line in proc.stderr.splitlines() if RECEIVER not in line]
    assert any(" connector." in line for line in records), "Leadwire's own records are in the log"
    payloads = [json.loads(line) for line in (REPO / "examples/webform_leads.jsonl").read_text().splitlines()
                if line.strip()]
    sent = personal_values(payloads)
    assert len(sent) > 100
    leaked = sorted({value for value in sent for line in records if value in line.lower()})
    assert leaked == []


def test_a_failing_statement_keeps_the_lead_values_out_of_its_error(make_runtime, pg_url, clock):
    rt = make_runtime(pg_url)
    row = {"source": "api", "email": "ada.secret@example.com", "phone": "+14155550134", "country": "USA",
           "captured_at": clock.now(), "updated_at": clock.now(), "attributes": {}}  # country is 2 characters
    with pytest.raises(DBAPIError) as failed, rt.db.session() as s:
        s.execute(insert(Lead).values(**row))
    message = str(failed.value)
    assert "INSERT INTO leads" in message  # the statement is there to debug with
    assert "ada.secret@example.com" not in message and "4155550134" not in message


def test_rq_jobs_of_a_capture_carry_ids_only(make_runtime, pg_url, redis_url):
    rt = make_runtime(pg_url, queue="rq", REDIS_URL=redis_url)
    resp = post_form(create_app(runtime=rt).test_client(), FORM_SECRET, ADA)
    assert resp.status_code == 202
    queue = RQ("leadwire", connection=rt.queue.connection, serializer=JSONSerializer)
    jobs = queue.get_jobs()
    assert [list(job.args) for job in jobs] == [["capture.drain"]]  # a wake-up: the worker claims the rows
    raw = b"".join(v for job in jobs for v in rt.queue.connection.hgetall(job.key).values())
    assert b"lovelace" not in raw.lower() and b"555-0134" not in raw
