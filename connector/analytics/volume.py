"""Volume measures: leads captured per day, rejected by reason, duplicates by source, MQL level mix."""
from __future__ import annotations

from sqlalchemy import Connection, func, select

from connector.analytics.filters import LEADS, Filters
from connector.analytics.sql import count_if, utc_day
from connector.analytics.table import Column, Table, rate
from connector.store.models import TimelineEvent

TIMELINE = TimelineEvent.__table__


def captured(conn: Connection, f: Filters) -> Table:
    """Leads captured per UTC day, and the total."""
    day = utc_day(conn.dialect.name, LEADS.c.captured_at).label("day")
    stmt = select(day, func.count().label("n")).where(*f.lead_where()).group_by(day).order_by(day)
    rows = [{"day": str(d), "leads": n} for d, n in conn.execute(stmt)]
    return Table("captured", "Leads captured", [Column("day", "Day"), Column("leads", "Leads", "int")], rows,
                 summary={"leads": sum(r["leads"] for r in rows)},
                 chart={"kind": "columns", "label": "day", "values": ["leads"]})


def rejected(conn: Connection, f: Filters) -> Table:
    """Rejected leads by reason, with each reason's share of all leads captured."""
    total, n_rejected = conn.execute(
        select(func.count(), count_if(LEADS.c.outcome == "rejected")).where(*f.lead_where())).one()
    reason = func.coalesce(LEADS.c.reject_reason, "(no reason)").label("reason")
    stmt = (select(reason, func.count().label("n")).where(*f.lead_where(), LEADS.c.outcome == "rejected")
            .group_by(reason).order_by(func.count().desc(), reason))
    rows = [{"reason": r, "leads": n, "share": rate(n, total)} for r, n in conn.execute(stmt)]
    return Table("rejected", "Rejected leads by reason",
                 [Column("reason", "Reason"), Column("leads", "Leads", "int"),
                  Column("share", "Share of captured", "rate")],
                 rows, summary={"captured": total, "rejected": n_rejected, "rejected_rate": rate(n_rejected, total)},
                 chart={"kind": "bar", "label": "reason", "values": ["leads"]})


def duplicates(conn: Connection, f: Filters) -> Table:
    """Duplicates by source: stored leads linked to an earlier lead, and repeat submissions merged into
    an existing lead (its timeline's `duplicate` events, dated by when they arrived).

    duplicate rate = (linked + merged) / submissions, where submissions = leads stored + merged.
    """
    is_dup = (LEADS.c.duplicate_of_id.is_not(None)) | (LEADS.c.outcome == "duplicate")
    stmt = (select(LEADS.c.source, func.count(), count_if(is_dup)).where(*f.lead_where()).group_by(LEADS.c.source))
    per: dict[str, dict] = {s: {"source": s, "leads": n, "linked": d, "merged": 0} for s, n, d in conn.execute(stmt)}
    t = TIMELINE.c
    merged = (select(LEADS.c.source, func.count()).select_from(TIMELINE.join(LEADS, LEADS.c.id == t.lead_id))
              .where(t.kind == "duplicate", *f.lead_where(when=t.at)).group_by(LEADS.c.source))
    for source, n in conn.execute(merged):
        per.setdefault(source, {"source": source, "leads": 0, "linked": 0, "merged": 0})["merged"] = n
    rows = [per[s] for s in sorted(per)]
    for r in rows:
        r["duplicate_rate"] = rate(r["linked"] + r["merged"], r["leads"] + r["merged"])
    leads, linked, n_merged = (sum(r[k] for r in rows) for k in ("leads", "linked", "merged"))
    return Table("duplicates", "Duplicates by source",
                 [Column("source", "Source"), Column("leads", "Leads stored", "int"),
                  Column("linked", "Linked duplicates", "int"), Column("merged", "Merged repeats", "int"),
                  Column("duplicate_rate", "Duplicate rate", "rate")],
                 rows, summary={"leads": leads, "duplicates": linked + n_merged,
                                "duplicate_rate": rate(linked + n_merged, leads + n_merged)},
                 chart={"kind": "bar", "label": "source", "values": ["linked", "merged"]})


def mql_levels(conn: Connection, f: Filters) -> Table:
    """How many leads reached each MQL level (unscored leads shown as level '-')."""
    stmt = (select(LEADS.c.mql_level, func.count()).where(*f.lead_where())
            .group_by(LEADS.c.mql_level).order_by(LEADS.c.mql_level))
    counts = list(conn.execute(stmt))
    total = sum(n for _, n in counts)
    rows = [{"level": "-" if lvl is None else str(lvl), "leads": n, "share": rate(n, total)}
            for lvl, n in sorted(counts, key=lambda c: (c[0] is None, c[0] or 0))]
    return Table("mql_levels", "MQL level mix",
                 [Column("level", "MQL level"), Column("leads", "Leads", "int"), Column("share", "Share", "rate")],
                 rows, summary={"leads": total}, chart={"kind": "bar", "label": "level", "values": ["leads"]})


__all__ = ["captured", "rejected", "duplicates", "mql_levels"]
