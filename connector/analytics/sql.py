"""Dialect helpers kept in SQL: durations, UTC day buckets and percentiles on PostgreSQL and SQLite."""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, FromClause, Select, case, cast, func, select, text
from sqlalchemy.dialects.postgresql import array


def seconds_between(dialect: str, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[float]:
    """`later - earlier` in seconds as a float expression."""
    if dialect == "postgresql":
        return func.date_part("epoch", later - earlier)  # float8 (EXTRACT returns slower numeric)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def utc_day(dialect: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp (a date on PostgreSQL, 'YYYY-MM-DD' text on SQLite)."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.strftime("%Y-%m-%d", column)


def percentiles(conn: Connection, table: FromClause, where: list[ColumnElement[bool]],
                stages: dict[str, tuple[ColumnElement[Any], ColumnElement[bool]]], ps: Sequence[float] = (0.5, 0.9)
                ) -> dict[str, tuple[int, list[float | None]]]:
    """Per stage: (count, [percentile_cont(p) for p in ps]) of `value` over rows of `table` under
    `where` + the stage's `condition`; `stages` maps name -> (value, condition), and the condition
    must exclude rows whose value is NULL.

    PostgreSQL computes every stage in one scan (ordered-set aggregates with FILTER); SQLite picks
    the neighbouring rows with ORDER BY/LIMIT/OFFSET and interpolates exactly as percentile_cont does.
    """
    if conn.dialect.name == "postgresql":
        cols = []
        for value, cond in stages.values():
            cols.append(func.count().filter(cond))
            cols.append(func.percentile_cont(array([float(p) for p in ps])).within_group(value).filter(cond))
        row = conn.execute(select(*cols).select_from(table).where(*where)).one()
        return {name: (int(row[2 * i]), list(row[2 * i + 1] or [None for _ in ps]))
                for i, name in enumerate(stages)}
    return {name: _sqlite_percentiles(conn, select(value.label("v")).select_from(table).where(*where, cond), ps)
            for name, (value, cond) in stages.items()}


def _sqlite_percentiles(conn: Connection, values: Select[Any], ps: Sequence[float]
                        ) -> tuple[int, list[float | None]]:
    sub = values.subquery()
    v = sub.c[0]
    n = conn.execute(select(func.count(v))).scalar_one()
    if not n:
        return 0, [None for _ in ps]
    out: list[float | None] = []
    for p in ps:
        pos = p * (n - 1)
        lo = math.floor(pos)
        pair = conn.execute(select(v).where(v.is_not(None)).order_by(v).limit(2).offset(lo)).scalars().all()
        low = float(pair[0])
        high = float(pair[1]) if len(pair) > 1 else low
        out.append(low + (high - low) * (pos - lo))
    return int(n), out


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), portable and never NULL."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)




@contextmanager
def lead_order_plan(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, steer one query to walk accepted leads and their feedback in lead-id order (merge
    joins over index-only scans) instead of hashing every feedback row in each parallel worker; undone
    after. Measured at 1M leads: 2-3x faster than the planner's own choice, filtered or not."""
    if conn.dialect.name != "postgresql":
        yield
        return
    knobs = ("enable_hashagg", "enable_hashjoin", "max_parallel_workers_per_gather")
    conn.execute(text("SET LOCAL enable_hashagg = off; SET LOCAL enable_hashjoin = off; "
                      "SET LOCAL max_parallel_workers_per_gather = 0"))
    try:
        yield
    finally:
        conn.execute(text("; ".join(f"SET LOCAL {k} TO DEFAULT" for k in knobs)))
