"""The named measures: name -> function(connection, Filters) -> Table, in dashboard order."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

from connector.analytics import acceptance, leaderboards, outcomes, speed, unassigned, volume
from connector.analytics.filters import Filters
from connector.analytics.table import Table
from connector.core.errors import NotFound
from connector.store import Database

Measure = Callable[[Connection, Filters], Table]

MEASURES: dict[str, Measure] = {
    "captured": volume.captured,
    "rejected": volume.rejected,
    "duplicates": volume.duplicates,
    "mql_levels": volume.mql_levels,
    "speed_to_lead": speed.speed_to_lead,
    "offer_rates": acceptance.offer_rates,
    "missed": acceptance.missed,
    "feedback_compliance": outcomes.feedback_compliance,
    "funnel": outcomes.funnel,
    "conversion": outcomes.conversion,
    "time_to_close": speed.time_to_close,
    "reps": leaderboards.reps,
    "partners": leaderboards.partners,
    "queue": unassigned.unassigned,
}


def _session(conn: Connection) -> Connection:
    """Per-transaction PostgreSQL settings for big read-only aggregates: sorts and hashes in memory,
    no JIT compilation (it costs more than it saves on queries of a second or less)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL work_mem = '128MB'"))
        conn.execute(text("SET LOCAL jit = off"))
    return conn


def run(db: Database, name: str, filters: Filters | None = None) -> Table:
    """Compute one measure in a read-only transaction; NotFound for an unknown name."""
    measure = MEASURES.get(name)
    if measure is None:
        raise NotFound(f"no measure named {name!r}; known: {', '.join(MEASURES)}")
    with db.engine.connect() as conn:
        return measure(_session(conn), filters or Filters())


def run_all(db: Database, filters: Filters | None = None) -> dict[str, Table]:
    """Every measure on one connection, in dashboard order."""
    with db.engine.connect() as conn:
        _session(conn)
        return {name: measure(conn, filters or Filters()) for name, measure in MEASURES.items()}
