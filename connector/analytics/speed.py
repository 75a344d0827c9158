"""Speed measures: capture → first offer, first offer → accept, capture → close (median and p90)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, true

from connector.analytics.filters import LEADS, Filters
from connector.analytics.sql import percentiles, seconds_between
from connector.analytics.table import Column, Table
from connector.store.statuses import LeadStatus

SPEED_COLUMNS = [Column("stage", "Stage"), Column("leads", "Leads", "int"),
                 Column("median_seconds", "Median", "seconds"), Column("p90_seconds", "90th percentile", "seconds")]
Stage = tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[bool]]  # (later, earlier, condition)


def _rows(conn: Connection, f: Filters, stages: dict[str, Stage]) -> list[dict[str, Any]]:
    """Median and p90 in seconds per stage; `stages` maps name -> (later, earlier, condition)."""
    dialect = conn.dialect.name
    found = percentiles(conn, LEADS, f.lead_where(), {
        name: (seconds_between(dialect, later, earlier), and_(later.is_not(None), earlier.is_not(None), cond))
        for name, (later, earlier, cond) in stages.items()})
    return [{"stage": name, "leads": n,
             "median_seconds": None if median is None else round(median, 1),
             "p90_seconds": None if p90 is None else round(p90, 1)} for name, (n, (median, p90)) in found.items()]


def speed_to_lead(conn: Connection, f: Filters) -> Table:
    """How long a lead waits: capture → first offer, and first offer → a rep accepting it."""
    c = LEADS.c
    rows = _rows(conn, f, {"capture → offer": (c.first_offered_at, c.captured_at, true()),
                           "offer → accept": (c.accepted_at, c.first_offered_at, true())})
    return Table("speed_to_lead", "Speed to lead", SPEED_COLUMNS, rows,
                 chart={"kind": "bar", "label": "stage", "values": ["median_seconds", "p90_seconds"]})


def time_to_close(conn: Connection, f: Filters) -> Table:
    """Capture → close for leads closed won, closed lost, and all closed leads."""
    c = LEADS.c
    rows = _rows(conn, f, {"won": (c.closed_at, c.captured_at, c.status == LeadStatus.WON),
                           "lost": (c.closed_at, c.captured_at, c.status == LeadStatus.LOST),
                           "all closed": (c.closed_at, c.captured_at, true())})
    return Table("time_to_close", "Time to close (capture → close)", SPEED_COLUMNS, rows,
                 chart={"kind": "bar", "label": "stage", "values": ["median_seconds", "p90_seconds"]})
