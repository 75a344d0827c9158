"""The account view (read only): one company's owner, how long the owner holds it, its leads, and the
history of the account — the timeline entries of its leads whose kind starts with "account." (owner set
or kept, siblings linked, a win closing or re-routing siblings). Served by GET /api/accounts/<id> and the
dashboard page /dashboard/accounts/<id>.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.routing.accounts import KIND_PREFIX
from connector.store.models import Account, Lead, Rep, TimelineEvent

MAX_LEADS = 200    # newest first; `lead_count` says how many there are
MAX_HISTORY = 200  # newest first

LEAD_COLUMNS = ("id", "first_name", "last_name", "email", "company", "status", "flow", "team", "owner_rep_id",
                "linked_to_id", "captured_at", "accepted_at", "closed_at", "hold_until", "won_amount")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def account_view(session: Session, account_id: int, now: datetime) -> dict[str, Any] | None:
    """The account as plain values (datetimes aware UTC), or None when there is no such account.

    Keys: id, domain, name, created_at, owner ({id, name, email} or None), owner_until, owner_current
    (the owner holds the account now: owner_until later than `now`, or no end), lead_count, leads (each
    with the columns in LEAD_COLUMNS and `owner_name`), history ({lead_id, at, kind, message, data}).
    """
    account = session.get(Account, account_id)
    if account is None:
        return None
    owner = session.get(Rep, account.owner_rep_id) if account.owner_rep_id is not None else None
    until = account.owner_until
    leads = list(session.scalars(select(Lead).where(Lead.account_id == account_id)
                                 .order_by(Lead.id.desc()).limit(MAX_LEADS)))
    count = session.scalar(select(func.count()).select_from(Lead).where(Lead.account_id == account_id)) or 0
    names = dict(session.execute(select(Rep.id, Rep.name).where(
        Rep.id.in_({lead.owner_rep_id for lead in leads if lead.owner_rep_id is not None}))).tuples().all())
    history = session.scalars(
        select(TimelineEvent).join(Lead, Lead.id == TimelineEvent.lead_id)
        .where(Lead.account_id == account_id, TimelineEvent.kind.startswith(KIND_PREFIX))
        .order_by(TimelineEvent.at.desc(), TimelineEvent.id.desc()).limit(MAX_HISTORY))
    return {
        "id": account.id, "domain": account.domain, "name": account.name, "created_at": account.created_at,
        "owner": {"id": owner.id, "name": owner.name, "email": owner.email} if owner else None,
        "owner_until": until,
        "owner_current": owner is not None and (until is None or until > now),
        "lead_count": count,
        "leads": [{**{c: getattr(lead, c) for c in LEAD_COLUMNS},
                   "owner_name": names.get(lead.owner_rep_id) if lead.owner_rep_id is not None else None}
                  for lead in leads],
        "history": [{"lead_id": e.lead_id, "at": e.at, "kind": e.kind, "message": e.message, "data": e.data}
                    for e in history],
    }


def as_json(view: dict[str, Any]) -> dict[str, Any]:
    """The view with every datetime as ISO 8601 text."""
    return {**{k: _json(v) for k, v in view.items() if k not in ("leads", "history")},
            "leads": [{k: _json(v) for k, v in lead.items()} for lead in view["leads"]],
            "history": [{k: _json(v) for k, v in e.items()} for e in view["history"]]}
