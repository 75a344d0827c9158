"""Round-robin cursors per pool, advanced under a row lock so concurrent workers stay fair.

PostgreSQL: the cursor row is created if missing (INSERT ... ON CONFLICT DO NOTHING) and then read
with SELECT ... FOR UPDATE; the lock is held until the caller's transaction commits, so two workers
routing leads of the same pool at once take turns and never pick the same "next" rep by accident.
SQLite serialises writers: the upsert takes the write lock before the read.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connector.flows.routing_strategies import rotate, smooth_weighted
from connector.store.models import RoutingCursor


def lock_cursor(session: Session, pool: str) -> RoutingCursor:
    """The pool's cursor row, created if new, locked until the caller's transaction ends.

    One statement: INSERT ... ON CONFLICT DO UPDATE takes the row lock (PostgreSQL) or the write lock
    (SQLite) and returns the row as it is now, after any concurrent transaction committed.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(RoutingCursor).values(pool=pool, counter=0)
    stmt = stmt.on_conflict_do_update(index_elements=[RoutingCursor.pool],
                                      set_={"counter": stmt.excluded.counter + RoutingCursor.counter})
    return session.scalars(select(RoutingCursor).from_statement(stmt.returning(RoutingCursor))
                           .execution_options(populate_existing=True)).one()


def next_round_robin(session: Session, pool: str, rep_ids: Sequence[int]) -> list[int]:
    """The candidates rotated to start after the pool's last pick; records the new first pick."""
    if not rep_ids:
        return []
    cursor = lock_cursor(session, pool)
    ordered = rotate(rep_ids, cursor.last_rep_id)
    cursor.last_rep_id = ordered[0]
    cursor.counter += 1
    return ordered


def next_weighted(session: Session, pool: str, weights: dict[int, float]) -> list[int]:
    """Smooth weighted round robin: the pick first, then the rest by weight; state kept per pool."""
    if not weights:
        return []
    cursor = lock_cursor(session, pool)
    chosen, state = smooth_weighted(weights, dict((cursor.state or {}).get("current", {})))
    known = {str(rid) for rid in weights}
    cursor.state = {"current": {k: v for k, v in state.items() if k in known}}
    cursor.last_rep_id = chosen
    cursor.counter += 1
    rest = sorted((rid for rid in weights if rid != chosen), key=lambda rid: (-weights[rid], rid))
    return [chosen, *rest]


def order_for_offer(session: Session, pool: str, chooser: str, candidates: Sequence[int], *,
                    weights: dict[int, float] | None = None, pinned: int = 0,
                    preferred: frozenset[int] = frozenset()) -> list[int]:
    """Apply the stateful part of a chooser to the engine's ordered candidates.

    The first `pinned` (the account owner) keep their place; preferred reps come next, then the rest.
    Round robin / weighted rotate each of those two groups under its own pool lock; other choosers
    keep the engine's order.
    """
    head, tail = list(candidates[:pinned]), list(candidates[pinned:])
    if chooser not in ("round_robin", "weighted"):
        return head + tail
    out = head
    for suffix, group in ((":preferred", [r for r in tail if r in preferred]),
                          ("", [r for r in tail if r not in preferred])):
        if chooser == "round_robin":
            out += next_round_robin(session, pool + suffix, group)
        else:
            out += next_weighted(session, pool + suffix, {rid: (weights or {}).get(rid, 1.0) for rid in group})
    return out
