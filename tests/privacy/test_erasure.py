"""Erasing a person: no trace of them in any table afterwards; export returns what was held."""
from __future__ import annotations

import pytest
from sqlalchemy import String, Text, select, text
from sqlalchemy.types import JSON

from connector.store import privacy
from connector.store.models import Base, Email, Lead, TimelineEvent
from tests.capture.test_api import API_ADA
from tests.capture.test_form_hook import AUTH

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


def capture(client, body):
    inbox = client.post("/api/leads", json=body, headers=AUTH).json["id"]
    return client.get(f"/api/inbox/{inbox}", headers=AUTH).json["lead_id"]


def test_erasure_leaves_no_trace_of_the_person_in_any_table(client, runtime):
    ada, alan = capture(client, API_ADA), capture(client, OTHER)
    with runtime.db.session() as s:
        s.add(Email(kind="offer", to="rep@example.com", subject="New lead: Ada Lovelace",
                    body_text="Ada Lovelace, ada@analytical-engines.com, +14155550134", lead_id=ada,
                    next_attempt_at=runtime.clock.now(), created_at=runtime.clock.now()))
    with runtime.db.session() as s:
        assert any(t in v for v in every_text(s) for t in TRACES)  # the scan does see the person before
        counts = privacy.erase_person(s, "Ada@Analytical-Engines.com", runtime.clock.now())
    assert counts["leads"] == 1 and counts["inbox"] >= 1 and counts["emails"] == 1
    with runtime.db.session() as s:
        left = [v for v in every_text(s) if any(t.lower() in v.lower() for t in TRACES)]
        assert left == []
        kept = s.get(Lead, ada)
        assert (kept.source, kept.email, kept.last_name) == ("api", None, None)  # the lead still counts
        audit = s.scalars(select(TimelineEvent).where(TimelineEvent.lead_id == ada,
                                                      TimelineEvent.kind == "privacy.erased")).one()
        assert audit.data["person"] == privacy.person_hash("ada@analytical-engines.com")
        assert s.get(Lead, alan).email == "alan@bletchley.example.org"  # nobody else touched


def test_export_returns_what_is_held_about_the_person(client, runtime):
    capture(client, API_ADA)
    with runtime.db.session() as s:
        held = privacy.export_person(s, "ada@analytical-engines.com")
    assert [lead["email"] for lead in held["leads"]] == ["ada@analytical-engines.com"]
    assert "Lovelace" in held["inbox"][0]["payload"]
    assert held["timeline"], "the lead's history is part of what is held"


def test_an_address_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not an e-mail address"):
        privacy.person_hash("nobody")
