"""Erasing a person: no trace of them in any table afterwards (on SQLite and PostgreSQL), an audit row
without personal data; export returns what was held; the CLI and /api/people do both."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import String, Text, select, text
from sqlalchemy.types import JSON

from connector.cli import cli
from connector.store import privacy
from connector.store.models import DELIVERY_CHANNELS, Base, Email, InboxItem, Lead, PrivacyRecord, TimelineEvent
from tests.capture.test_api import API_ADA
from tests.capture.test_form_hook import AUTH
from tests.support.runtime import deployment_env

TRACES = ("ada@analytical-engines.com", "Lovelace", "4155550134")
OTHER = {"contact": {"first_name": "Alan", "last_name": "Turing", "email": "alan@bletchley.example.org",
                     "phone": "+44 20 7946 0018"},
         "company": {"name": "Bletchley Park", "country": "GB"}}


@pytest.fixture
def runtime(make_runtime, db_url):
    return make_runtime(db_url)


def every_text(session) -> list[str]:
    """Every string and JSON value in every table, as text."""
    out = []
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        for column in columns:
            out += [str(v) for v in session.execute(text(f'SELECT "{column}" FROM "{table.name}"')).scalars()
                    if v is not None]
    return out


def traces(session) -> list[str]:
    return [v for v in every_text(session) if any(t.lower() in v.lower() for t in TRACES)]


def capture(client, body):
    inbox = client.post("/api/leads", json=body, headers=AUTH).json["id"]
    return client.get(f"/api/inbox/{inbox}", headers=AUTH).json["lead_id"]


def held_elsewhere(runtime, ada: int, alan: int) -> None:
    """Ada as other places keep her: an offer e-mail, a CRM delivery's fetched record, another lead's timeline."""
    now = runtime.clock.now()
    with runtime.db.session() as s:
        s.add(Email(kind="offer", to="rep@example.com", subject="New lead: Ada Lovelace",
                    body_text="Ada Lovelace, ada@analytical-engines.com, +14155550134", lead_id=ada,
                    next_attempt_at=now, created_at=now))
        s.add(InboxItem(source="hubspot", channel=DELIVERY_CHANNELS["hubspot"], idempotency_key="delivery-1",
                        payload='[{"objectId": 901}]', record={"901": {"email": "Ada@Analytical-Engines.com"}},
                        received_at=now, status="processed"))
        s.add(TimelineEvent(lead_id=alan, at=now, kind="note", message="Alan knows ada@analytical-engines.com"))


def test_erasure_leaves_no_trace_of_the_person_in_any_table(client, runtime):
    ada, alan = capture(client, API_ADA), capture(client, OTHER)
    held_elsewhere(runtime, ada, alan)
    with runtime.db.session() as s:
        assert len(traces(s)) >= 5  # the scan does see the person before
        counts = privacy.erase_person(s, "Ada@Analytical-Engines.com", runtime.clock.now(), key="k", by="cli")
    assert counts["leads"] == 1 and counts["inbox"] == 2 and counts["emails"] == 1
    with runtime.db.session() as s:
        assert traces(s) == []
        kept = s.get(Lead, ada)
        assert (kept.source, kept.email, kept.last_name) == ("api", None, None)  # the lead still counts
        audit = s.scalars(select(TimelineEvent).where(TimelineEvent.lead_id == ada,
                                                      TimelineEvent.kind == "privacy.erased")).one()
        assert audit.data["person"] == privacy.person_hash("ada@analytical-engines.com", "k")
        (row,) = s.scalars(select(PrivacyRecord)).all()
        assert (row.action, row.by, row.person, row.counts["leads"]) == ("erase", "cli", audit.data["person"], 1)
        assert s.get(Lead, alan).email == "alan@bletchley.example.org"  # nobody else touched


def test_export_returns_what_is_held_about_the_person(client, runtime):
    ada, alan = capture(client, API_ADA), capture(client, OTHER)
    held_elsewhere(runtime, ada, alan)
    with runtime.db.session() as s:
        held = privacy.export_person(s, "ada@analytical-engines.com")
    assert [lead["email"] for lead in held["leads"]] == ["ada@analytical-engines.com"]
    assert "Lovelace" in held["inbox"][0]["payload"] and len(held["inbox"]) == 2
    assert {e["lead_id"] for e in held["timeline"]} == {ada, alan}
    assert [m["subject"] for m in held["emails"]] == ["New lead: Ada Lovelace"]
    assert "alan@bletchley" not in json.dumps(held)


def test_the_api_exports_and_erases_a_person_with_the_api_key(client, runtime):
    capture(client, API_ADA)
    assert client.get("/api/people/ada@analytical-engines.com").status_code == 401
    got = client.get("/api/people/Ada@Analytical-Engines.com", headers=AUTH)
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    assert got.json["leads"][0]["last_name"] == "Lovelace"
    gone = client.delete("/api/people/ada@analytical-engines.com", headers=AUTH)
    assert gone.status_code == 200 and gone.json["erased"]["leads"] == 1
    after = client.get("/api/people/ada@analytical-engines.com", headers=AUTH).json
    assert (after["leads"], after["inbox"], after["timeline"]) == ([], [], [])  # nothing held any more
    bad = client.delete("/api/people/not-an-address", headers=AUTH)
    assert bad.status_code == 400 and "e-mail address" in bad.json["error"]
    with runtime.db.session() as s:
        assert [r.action for r in s.scalars(select(PrivacyRecord).order_by(PrivacyRecord.id))] == \
            ["export", "erase", "export"]


def test_the_cli_exports_then_erases_a_person(client, runtime, db_url, monkeypatch):
    capture(client, API_ADA)
    for name, value in deployment_env(db_url).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    exported = runner.invoke(cli, ["privacy", "export", "ada@analytical-engines.com"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["leads"][0]["last_name"] == "Lovelace"
    erased = runner.invoke(cli, ["privacy", "erase", "ada@analytical-engines.com", "--by", "dpo@northwind"])
    assert erased.exit_code == 0 and json.loads(erased.output)["leads"] == 1
    with runtime.db.session() as s:
        assert traces(s) == []
    refused = runner.invoke(cli, ["privacy", "erase", "nobody"])
    assert refused.exit_code == 2 and "not an e-mail address" in refused.output


def test_an_address_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not an e-mail address"):
        privacy.person_hash("nobody")
