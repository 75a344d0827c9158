"""`leadwire demo --json` runs the journey from a fresh directory and its summary is right."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from connector.core.errors import InvalidLead
from connector.flows import load_spec, map_payload
from connector.store.models import Lead, TimelineEvent

REPO = Path(__file__).resolve().parents[2]


def test_demo_summary_matches_the_sample_leads(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "LEADWIRE_"))}
    proc = subprocess.run([sys.executable, "-m", "connector", "demo", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])

    lines = [json.loads(line) for line in (REPO / "examples/webform_leads.jsonl").read_text().splitlines() if line.strip()]
    spec = load_spec(REPO / "flows.yaml")
    invalid = 0
    for payload in lines:
        try:
            map_payload(spec, "website", payload)
        except InvalidLead:
            invalid += 1
    assert len(lines) >= 50 and invalid >= 3
    assert summary["posted"] == len(lines) + 3
    assert summary["redelivered"] == 3
    assert summary["rejected"] == invalid
    assert summary["captured"] == len(lines) - invalid
    assert summary["duplicates"] >= 3

    engine = create_engine(f"sqlite:///{tmp_path / 'leadwire-demo.db'}")
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Lead))
        linked = conn.scalar(select(func.count()).select_from(Lead).where(Lead.duplicate_of_id.is_not(None)))
    engine.dispose()
    assert summary["leads_at_end"] == stored  # the capture stage's leads and the lifecycle stage's new ones
    # every captured lead is a stored lead, or a touch merged into one
    assert summary["captured"] - summary["leads"] == summary["duplicates"] - linked
    # routing: every routed lead ends accepted or escalated, and each offer e-mail reached the SMTP server
    routed = summary["by_outcome"]["routed"]
    assert summary["accepted"] + summary["escalated"] == routed
    assert summary["offers"] >= routed and summary["emails"] >= summary["offers"]
    assert summary["declined"] >= 1 and summary["expired"] >= 1 and summary["median_seconds_to_accept"] > 0
    # feedback: requests went out and answers arrived at each level; won + lost come from level 3
    assert summary["feedback_requests"] >= summary["accepted"]
    assert min(summary["feedback_level1"], summary["feedback_level2"], summary["feedback_level3"]) >= 1
    assert summary["won"] + summary["lost"] <= summary["feedback_level3"]
    # sync: the CRMs received writes in batches (far fewer API calls than records written)
    assert summary["crm_writes"] >= summary["accepted"]
    assert summary["crm_api_calls"] < summary["crm_writes"]

    # the lead lives: every lifecycle figure happened, and each matches what the database records
    for figure in ("promoted", "account_owner_offers", "held_outside_hours", "reopened", "owner_told"):
        assert summary[figure] > 0, figure
    engine = create_engine(summary["database"])
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(TimelineEvent.kind, func.count()).group_by(TimelineEvent.kind)).tuples().all())
        promoted = conn.execute(select(Lead.status).where(Lead.id.in_(
            select(TimelineEvent.lead_id).where(TimelineEvent.kind == "promoted")))).scalars().all()
    engine.dispose()
    assert (kinds["promoted"], kinds["held"], kinds["owner_told"]) == (
        summary["promoted"], summary["held_outside_hours"], summary["owner_told"])
    assert kinds["reopened"] == summary["reopened"]
    assert promoted and all(status != "nurture" for status in promoted)  # promoted leads went to routing
