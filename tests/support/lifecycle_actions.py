"""Manual-action and replay helpers: the test flows (and the variant replayed against them), reps, leads
captured and closed, and what the store holds about them (timeline, CRM outbox, offers)."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from connector.store.models import Lead, Offer, OutboxItem, TimelineEvent
from connector.store.statuses import LeadStatus
from tests.support import routing
from tests.support.analytics import PASSWORD
from tests.support.dashboard import post_login
from tests.support.runtime import REPO, deployment_env

DATA = REPO / "tests" / "lifecycle" / "data"
FLOWS = DATA / "actions_flows.yaml"
VARIANT = DATA / "actions_variant.yaml"
AUTH = routing.AUTH

REPS = [
    {"email": "ann@na.example", "name": "Ann", "team": "na", "countries": ["US"], "hubspot_owner_id": "7001"},
    {"email": "bob@na.example", "name": "Bob", "team": "na", "countries": ["US"], "hubspot_owner_id": "7002"},
    {"email": "eve@emea.example", "name": "Eve", "team": "emea", "countries": ["GB"]},
    {"email": "old@na.example", "name": "Old", "team": "na", "countries": ["CA"], "active": False},
]


def env(db_url: str, **extra) -> dict:
    """The deployment environment on the lifecycle test flows, with a dashboard password."""
    return deployment_env(db_url, LEADWIRE_FLOWS=str(FLOWS), LEADWIRE_ADMIN_PASSWORD=PASSWORD, **extra)


def add_reps(rt) -> dict[str, int]:
    """The test reps; returns {name: id}."""
    ids = routing.add_reps(rt, *REPS)
    return {r["name"]: ids[r["email"]] for r in REPS}


def capture(rt, campaign: str, email: str, **fields) -> int:
    """Capture one US lead of `campaign` through the API source; returns its id."""
    return routing.capture(rt, email=email, campaign=campaign, country="US", company="Acme", **fields)


def lead(rt, lead_id: int) -> Lead:
    with rt.db.session() as s:
        found = s.get(Lead, lead_id)
        s.expunge_all()
        return found


def set_status(rt, lead_id: int, status: LeadStatus, **values) -> None:
    """Put a lead in a state directly (e.g. won, as the feedback answers would)."""
    with rt.db.session() as s:
        found = s.get(Lead, lead_id)
        found.status = status
        for key, value in values.items():
            setattr(found, key, value)


def close(rt, lead_id: int, status: LeadStatus, *, amount: float | None = None) -> None:
    """Mark a lead won or lost as the feedback answers would (closed_at, won amount)."""
    set_status(rt, lead_id, status, closed_at=datetime(2026, 1, 20, 12, tzinfo=UTC), won_amount=amount)


def events(rt, lead_id: int, kind: str | None = None) -> list[TimelineEvent]:
    with rt.db.session() as s:
        query = select(TimelineEvent).where(TimelineEvent.lead_id == lead_id)
        if kind:
            query = query.where(TimelineEvent.kind == kind)
        found = list(s.scalars(query.order_by(TimelineEvent.at, TimelineEvent.id)))
        s.expunge_all()
        return found


def outbox(rt, lead_id: int) -> list[OutboxItem]:
    with rt.db.session() as s:
        found = list(s.scalars(select(OutboxItem).where(OutboxItem.lead_id == lead_id).order_by(OutboxItem.id)))
        s.expunge_all()
        return found


def offers(rt, lead_id: int) -> list[Offer]:
    return routing.offers_of(rt, lead_id)


def snapshot(rt) -> list[tuple]:
    """Every lead's decision and status, the offers and the outbox: what a dry run must not change."""
    with rt.db.session() as s:
        leads = [(x.id, x.status, x.outcome, x.flow, x.team, x.mql_level, x.decided_with, x.owner_rep_id)
                 for x in s.scalars(select(Lead).order_by(Lead.id))]
        return [*leads, ("offers", len(s.scalars(select(Offer)).all())),
                ("outbox", len(s.scalars(select(OutboxItem)).all())),
                ("timeline", len(s.scalars(select(TimelineEvent)).all()))]


def login(client) -> None:
    """Log a test client in to the dashboard."""
    resp = post_login(client, PASSWORD, "/dashboard")
    assert resp.status_code == 302, resp.status_code


def csrf_token(page: str) -> str:
    """The CSRF token of the first action form on a dashboard page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)
