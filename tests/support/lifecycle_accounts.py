"""Account and outside-hours helpers: the shipped flows.yaml (or a copy with one setting changed), reps with
working hours, API leads of one company, feedback closing a lead, and what the store holds about them."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from connector.capture import inbox as uc
from connector.flows import pursuit as answers_model
from connector.pursuit import answers
from connector.store.models import Account, InboxItem, Lead, Offer, TimelineEvent
from tests.support import routing
from tests.support.analytics import PASSWORD
from tests.support.dashboard import post_login
from tests.support.runtime import REPO

AUTH = routing.AUTH
SHIPPED = REPO / "flows.yaml"

# the shipped flows route US leads to team na_insight and German ones to emea (flow "qualified")
NA = [{"email": f"{n.lower()}@northwind.example", "name": n, "team": "na_insight", "countries": ["US"],
       "manager_email": "na-boss@northwind.example"} for n in ("Ann", "Bob", "Cy")]
BERLIN = {"email": "jo@northwind.example", "name": "Jo Rep", "team": "emea", "countries": ["DE"],
          "timezone": "Europe/Berlin", "working_hours": "mon-fri 09:00-17:00", "manager_email": "emea-boss@x.example"}
TOKYO = {"email": "kei@northwind.example", "name": "Kei", "team": "emea", "countries": ["DE"],
         "timezone": "Asia/Tokyo", "working_hours": "mon-fri 09:00-17:00"}

PEOPLE = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Edsger", "Dijkstra"), ("Barbara", "Liskov"),
          ("Donald", "Knuth"), ("Frances", "Allen")]


def flows_variant(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped flows.yaml with `old` replaced by `new` once (the mapping files beside it)."""
    text = SHIPPED.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in flows.yaml"
    (tmp_path / "mappings").symlink_to(REPO / "mappings")
    path = tmp_path / "flows.yaml"
    path.write_text(text.replace(old, new))
    return path


def add_reps(rt, *records: dict) -> dict[str, int]:
    """Import reps; returns {name: id}."""
    ids = routing.add_reps(rt, *records)
    return {r["name"]: ids[r["email"]] for r in records}


def capture(rt, n: int, *, domain: str = "acme.com", country: str = "US") -> int:
    """Capture person `n` of PEOPLE at `domain` through the API source (a hot lead: flow qualified)."""
    first, last = PEOPLE[n]
    payload = {"contact": {"first_name": first, "last_name": last, "email": f"{first.lower()}@{domain}",
                           "phone": f"+1 415 555 01{n:02d}", "role": "executive"},
               "company": {"name": domain.split(".")[0].title(), "country": country, "employees": 1200,
                           "industry": "finance", "website": domain},
               "bant": {"timing": "this_quarter"}}
    raw = json.dumps(payload).encode()
    receipt = uc.accept(rt, source="api", channel="api", raw=raw, payload=payload,
                        idempotency_key=uc.idempotency_key(raw, None))
    assert not receipt.errors, receipt.errors
    with rt.db.session() as s:
        lead_id = s.get(InboxItem, receipt.inbox_id).lead_id
        assert lead_id is not None
        return lead_id


def close(rt, lead_id: int, outcome: str) -> None:
    """The owner reports the lead won (or lost) through the feedback answers."""
    values = {"outcome": outcome, "amount": 5000.0} if outcome == "won" else {"outcome": outcome,
                                                                             "lost_reason": "price"}
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        answers.record(s, rt, lead, lead.owner_rep_id, answers_model.make_answers(**values), rt.clock.now())


def lead(rt, lead_id: int) -> Lead:
    with rt.db.session() as s:
        found = s.get(Lead, lead_id)
        s.expunge_all()
        return found


def account(rt, domain: str = "acme.com") -> Account:
    with rt.db.session() as s:
        found = s.scalar(select(Account).where(Account.domain == domain))
        s.expunge_all()
        return found


def offers(rt, lead_id: int) -> list[Offer]:
    return routing.offers_of(rt, lead_id)


def pending(rt, lead_id: int) -> list[Offer]:
    return [o for o in offers(rt, lead_id) if o.status == "pending"]


def messages(rt, lead_id: int, kind: str) -> list[str]:
    """The messages of a lead's timeline entries of one kind, oldest first."""
    with rt.db.session() as s:
        return list(s.scalars(select(TimelineEvent.message).where(TimelineEvent.lead_id == lead_id,
                                                                  TimelineEvent.kind == kind)
                              .order_by(TimelineEvent.at, TimelineEvent.id)))


def login(client) -> None:
    """Log a test client in to the dashboard."""
    resp = post_login(client, PASSWORD, "/dashboard")
    assert resp.status_code == 302, resp.status_code
