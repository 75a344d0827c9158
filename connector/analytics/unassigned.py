"""Work lists for RevOps: the unassigned/escalated queue, lead search, and one lead with its timeline."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, or_, select

from connector.analytics.filters import LEADS, REPS, Filters
from connector.analytics.table import Column, Table
from connector.analytics.volume import TIMELINE
from connector.core.errors import NotFound
from connector.store.statuses import LeadStatus

# routed leads in these states with no owner need a person
OPEN_WAIT = (LeadStatus.NEW, LeadStatus.ESCALATED, LeadStatus.ACCEPTED)
LIST_COLUMNS = [Column("id", "Lead", "int"), Column("captured_at", "Captured", "datetime"), Column("name", "Name"),
                Column("email", "E-mail"), Column("company", "Company"), Column("source", "Source"),
                Column("flow", "Flow"), Column("status", "Status"),
                Column("first_offered_at", "First offered", "datetime")]
_FIELDS = (LEADS.c.id, LEADS.c.captured_at, LEADS.c.first_name, LEADS.c.last_name, LEADS.c.email, LEADS.c.company,
           LEADS.c.source, LEADS.c.flow, LEADS.c.status, LEADS.c.first_offered_at)


def _list_row(r: Row[Any]) -> dict[str, Any]:
    name = " ".join(x for x in (r.first_name, r.last_name) if x)
    return {"id": r.id, "captured_at": r.captured_at, "name": name, "email": r.email, "company": r.company,
            "source": r.source, "flow": r.flow, "status": r.status, "first_offered_at": r.first_offered_at}


def unassigned(conn: Connection, f: Filters, *, limit: int = 500) -> Table:
    """Leads needing a person: status escalated, or routed with no owner and no open offer; oldest first."""
    c = LEADS.c
    needs = or_(c.status == LeadStatus.ESCALATED,
                (c.outcome == "routed") & c.owner_rep_id.is_(None) & c.status.in_(OPEN_WAIT))
    stmt = select(*_FIELDS).where(*f.lead_where(people=False), needs).order_by(c.captured_at, c.id).limit(limit)
    rows = [_list_row(r) for r in conn.execute(stmt)]
    return Table("queue", "Unassigned and escalated leads", LIST_COLUMNS, rows, summary={"leads": len(rows)},
                 note=f"Oldest first; at most {limit} shown.")


def search(conn: Connection, q: str, *, limit: int = 50) -> Table:
    """Leads whose e-mail, first or last name, or company contains `q` (case-insensitive), newest first."""
    needle = f"%{q.strip().lower()}%"
    c = LEADS.c
    full_name = func.lower(func.coalesce(c.first_name, "") + " " + func.coalesce(c.last_name, ""))
    match = or_(func.lower(c.email).like(needle), full_name.like(needle), func.lower(c.company).like(needle))
    stmt = select(*_FIELDS).where(match).order_by(c.captured_at.desc()).limit(limit)
    rows = [_list_row(r) for r in conn.execute(stmt)]
    return Table("search", f"Leads matching {q.strip()!r}", LIST_COLUMNS, rows)


def lead_detail(conn: Connection, lead_id: int) -> dict[str, Any]:
    """A lead's fields, its owner's name, and its timeline (oldest first) with each event's data."""
    lead = conn.execute(select(LEADS).where(LEADS.c.id == lead_id)).mappings().first()
    if lead is None:
        raise NotFound(f"lead {lead_id} does not exist")
    owner = None
    if lead["owner_rep_id"] is not None:
        owner = conn.execute(select(REPS.c.name).where(REPS.c.id == lead["owner_rep_id"])).scalar()
    events = conn.execute(select(TIMELINE.c.at, TIMELINE.c.kind, TIMELINE.c.message, TIMELINE.c.data)
                          .where(TIMELINE.c.lead_id == lead_id).order_by(TIMELINE.c.at, TIMELINE.c.id)).mappings().all()
    return {"lead": dict(lead), "owner": owner, "timeline": [dict(e) for e in events]}
