"""Routing helpers: the routing test flows, sample reps, and capturing leads and reading their offers."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from connector.capture import inbox as uc
from connector.routing import reps
from connector.store.models import InboxItem, Lead, Offer, Rep
from tests.support.runtime import API_KEY

DATA = Path(__file__).resolve().parents[1] / "routing" / "data"

NA_REPS = [
    {"email": "ann@na.example", "name": "Ann", "team": "na", "countries": ["US"], "manager_email": "boss@na.example"},
    {"email": "bob@na.example", "name": "Bob", "team": "na", "countries": ["US"]},
    {"email": "cy@na.example", "name": "Cy", "team": "na", "countries": ["US"]},
    {"email": "dee@na.example", "name": "Dee", "team": "na", "countries": ["CA"]},
]

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def add_reps(rt, *records: dict) -> dict[str, int]:
    """Import reps; returns {email: id}."""
    reps.import_records(rt, list(enumerate(records)))
    with rt.db.session() as s:
        return {r.email: r.id for r in s.query(Rep)}


def capture(rt, **fields) -> int:
    """Capture one lead through the API source; returns the lead id."""
    fields.setdefault("email", f"lead{id(fields)}@acme.example")
    raw = json.dumps(fields).encode()
    receipt = uc.accept(rt, source="api", channel="api", raw=raw, payload=fields,
                        idempotency_key=uc.idempotency_key(raw, None))
    assert not receipt.errors, receipt.errors
    with rt.db.session() as s:
        return s.get(InboxItem, receipt.inbox_id).lead_id


def offers_of(rt, lead_id: int) -> list:
    with rt.db.session() as s:
        return list(s.scalars(select(Offer).where(Offer.lead_id == lead_id).order_by(Offer.id)))


def lead_of(rt, lead_id: int):
    with rt.db.session() as s:
        return s.get(Lead, lead_id)
