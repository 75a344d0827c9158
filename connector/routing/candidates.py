"""The reps the engine sees: static rep fields (cached per process until reps change) plus current load
(open offers, open leads) and performance over a window, as `RepView`s — or, for the worker, a `RepBook`
indexed once per reps version whose load figures are read only for the reps a plan ranks."""
from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from connector.flows.rep_index import RepIndex
from connector.flows.routing import RepBook, RepView
from connector.store.models import Lead, Offer, Rep
from connector.store.statuses import LeadStatus, OfferStatus

STATS_WINDOW = timedelta(days=90)
RATES_TTL = timedelta(minutes=5)
STATIC = ("id", "email", "name", "team", "partner", "manager_email", "salesforce_user_id", "hubspot_owner_id",
          "latitude", "longitude", "radius_km", "preferred", "weight", "max_open_offers", "max_open_leads",
          "timezone", "working_hours", "absent_from", "absent_until", "active", "created_at")
LISTS = ("countries", "regions", "postal_prefixes", "products")


@dataclass
class _Cached:
    version: tuple[Any, ...]
    rows: list[dict[str, Any]]
    index: RepIndex
    book: RepBook | None = None  # static views indexed for the engine, built on first use


Rates = dict[int, tuple[float | None, float | None]]  # rep id -> (acceptance rate, win rate)

_cache: dict[str, _Cached] = {}
_rates_cache: dict[str, tuple[datetime, Rates]] = {}
_lock = threading.Lock()


def _db_key(session: Session) -> str:
    """The database a session talks to, as a cache key."""
    return str(session.get_bind().engine.url)


def _version(session: Session) -> tuple[Any, ...]:
    return tuple(session.execute(select(func.count(Rep.id), func.max(Rep.id), func.max(Rep.updated_at),
                                        func.max(Rep.created_at))).one())


def static_reps(session: Session) -> _Cached:
    """Every rep's static fields and a territory/product index, rebuilt only when reps change."""
    key = _db_key(session)
    version = _version(session)
    with _lock:
        hit = _cache.get(key)
        if hit and hit.version == version:
            return hit
    rows = []
    for rep in session.scalars(select(Rep).order_by(Rep.id)):
        row = {name: getattr(rep, name) for name in STATIC}
        row.update({name: tuple(getattr(rep, name) or ()) for name in LISTS})
        rows.append(row)
    built = _Cached(version, rows, RepIndex(rows))
    with _lock:
        _cache[key] = built
    return built


def _counts(session: Session, stmt: Select[tuple[int | None, int]]) -> dict[int, int]:
    return {rid: n for rid, n in session.execute(stmt) if rid is not None}


def _rates(session: Session, now: datetime, window: timedelta) -> Rates:
    """(acceptance rate, win rate) per rep over `window`, cached per database for RATES_TTL: the
    aggregates scan the window's offers and closed leads, and rates need not be up to the second."""
    key = _db_key(session)
    with _lock:
        hit = _rates_cache.get(key)
    if hit and timedelta(0) <= now - hit[0] < RATES_TTL:
        return hit[1]
    since = now - window
    offered = {r: (a, n) for r, a, n in session.execute(select(
        Offer.rep_id, func.sum(case((Offer.status == OfferStatus.ACCEPTED, 1), else_=0)), func.count())
        .where(Offer.offered_at >= since,
               Offer.status.in_((OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED)))
        .group_by(Offer.rep_id))}
    closed = {r: (w, n) for r, w, n in session.execute(select(
        Lead.owner_rep_id, func.sum(case((Lead.status == LeadStatus.WON, 1), else_=0)), func.count())
        .where(Lead.closed_at >= since, Lead.status.in_((LeadStatus.WON, LeadStatus.LOST)))
        .group_by(Lead.owner_rep_id))}
    rates = {rid: ((offered[rid][0] / offered[rid][1]) if rid in offered else None,
                   (closed[rid][0] / closed[rid][1]) if rid in closed else None)
             for rid in set(offered) | set(closed) if rid is not None}
    with _lock:
        _rates_cache[key] = (now, rates)
    return rates


def load_and_stats(session: Session, rep_ids: Iterable[int] | None, now: datetime,
                   window: timedelta = STATS_WINDOW) -> dict[int, dict[str, Any]]:
    """Per rep: open_offers and open_leads (now), acceptance_rate (accepted / answered-or-expired offers)
    and win_rate (won / closed leads) over `window`; limited to `rep_ids` when given."""
    ids = None if rep_ids is None else list(rep_ids)

    def only(col, stmt):
        return stmt if ids is None else stmt.where(col.in_(ids))

    pending = _counts(session, only(Offer.rep_id, select(Offer.rep_id, func.count()).where(
        Offer.status == OfferStatus.PENDING).group_by(Offer.rep_id)))
    owned = _counts(session, only(Lead.owner_rep_id, select(Lead.owner_rep_id, func.count()).where(
        Lead.status == LeadStatus.ACCEPTED).group_by(Lead.owner_rep_id)))
    rates = _rates(session, now, window)
    out: dict[int, dict[str, Any]] = {}
    for rid in set(pending) | set(owned) | set(rates):
        acc, win = rates.get(rid, (None, None))
        out[rid] = {"open_offers": pending.get(rid, 0), "open_leads": owned.get(rid, 0),
                    "acceptance_rate": acc, "win_rate": win}
    return out


def rep_views(session: Session, fields: dict[str, Any], now: datetime, *, narrow_by: tuple[str, ...] = (),
              include: Iterable[int] = ()) -> list[RepView]:
    """RepViews for the engine. With `narrow_by` ("territory", "product": filters every flow applies)
    only reps that could match the lead are loaded — the cost follows the matching reps, not the
    network. Reps in `include` (an account owner) are always present."""
    cached = static_reps(session)
    if narrow_by:
        rows = cached.index.candidates(fields, territory="territory" in narrow_by, product="product" in narrow_by)
        extra = [cached.index.by_id[i] for i in include if i in cached.index.by_id]
        rows = list({r["id"]: r for r in [*rows, *extra]}.values())
    else:
        rows = cached.rows
    stats = load_and_stats(session, [r["id"] for r in rows] if narrow_by else None, now)
    empty = {"open_offers": 0, "open_leads": 0, "acceptance_rate": None, "win_rate": None}
    return [RepView(**row, **stats.get(row["id"], empty)) for row in rows]


SNAPSHOT_KEY = "leadwire_rep_book"


def rep_book(session: Session, now: datetime) -> RepBook:
    """The reps for deciding a lead now: every rep's static view, indexed once per reps version and
    pinned to the session's transaction (one batch of leads sees one snapshot; the next batch sees reps
    changed meanwhile), with load figures read in `session` — so they count its own uncommitted offers —
    for only the reps a plan ranks, afresh for each lead (`RepBook.for_lead`)."""
    book = session.info.get(SNAPSHOT_KEY)
    if book is None:
        cached = static_reps(session)
        if cached.book is None:
            built = RepBook([RepView(**row) for row in cached.rows])  # load fields at their zero defaults
            with _lock:
                cached.book = cached.book or built
        book = session.info[SNAPSHOT_KEY] = cached.book
        _forget_after_transaction(session)
    return book.for_lead(lambda ids: load_and_stats(session, ids, now))


def _forget_after_transaction(session: Session) -> None:
    """Drop the pinned snapshot when the session's outermost transaction ends (savepoints keep it)."""
    def forget(sess: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            sess.info.pop(SNAPSHOT_KEY, None)

    if not session.info.get(SNAPSHOT_KEY + ":listening"):  # once per session
        session.info[SNAPSHOT_KEY + ":listening"] = True
        event.listen(session, "after_transaction_end", forget)
