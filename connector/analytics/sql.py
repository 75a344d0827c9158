"""Dialect helpers kept in SQL: durations, UTC day buckets and percentiles on PostgreSQL and SQLite."""
from __future__ import annotations

import math
from typing import Sequence

from sqlalchemy import Connection, ColumnElement, Float, Select, case, cast, func, select


def seconds_between(dialect: str, later, earlier) -> ColumnElement[float]:
    """`later - earlier` in seconds as a float expression."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def utc_day(dialect: str, column) -> ColumnElement[str]:
    """The UTC calendar day of a timestamp as 'YYYY-MM-DD'."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def percentiles(conn: Connection, values: Select, ps: Sequence[float] = (0.5, 0.9)) -> tuple[int, list[float | None]]:
    """(count, [percentile_cont(p) for p in ps]) of the single column `values` selects (NULLs ignored).

    PostgreSQL uses percentile_cont; SQLite picks the neighbouring rows with ORDER BY/LIMIT/OFFSET
    and interpolates between them exactly as percentile_cont does.
    """
    sub = values.subquery()
    v = sub.c[0]
    if conn.dialect.name == "postgresql":
        cols = [func.count(v)] + [func.percentile_cont(p).within_group(v) for p in ps]
        row = conn.execute(select(*cols)).one()
        return int(row[0]), [None if x is None else float(x) for x in row[1:]]
    n = conn.execute(select(func.count(v))).scalar_one()
    if not n:
        return 0, [None for _ in ps]
    out = []
    for p in ps:
        pos = p * (n - 1)
        lo = math.floor(pos)
        pair = conn.execute(select(v).where(v.is_not(None)).order_by(v).limit(2).offset(lo)).scalars().all()
        low = float(pair[0])
        high = float(pair[1]) if len(pair) > 1 else low
        out.append(low + (high - low) * (pos - lo))
    return int(n), out


def count_if(condition) -> ColumnElement[int]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END), portable and never NULL."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


