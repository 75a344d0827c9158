"""Rep and partner leaderboards: offers answered, acceptance, response time, leads won and amount."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Row, case, func, select

from connector.analytics.filters import LEADS, OFFERS, REPS, Filters
from connector.analytics.sql import count_if, seconds_between
from connector.analytics.table import Column, Table, rate
from connector.store.statuses import LeadStatus, OfferStatus

COLUMNS = [Column("offers", "Offers", "int"), Column("accepted", "Accepted", "int"),
           Column("acceptance_rate", "Acceptance", "rate"), Column("avg_response_seconds", "Avg response", "seconds"),
           Column("leads", "Leads owned", "int"), Column("won", "Won", "int"),
           Column("conversion_rate", "Conversion", "rate"), Column("won_amount", "Won amount", "money")]


def _per_rep(conn: Connection, f: Filters) -> dict[int, dict]:
    """rep id -> offers, accepted, answered, response_total (s), leads, won, amount, under the filters.

    Two GROUP BY rep id aggregates (offers by the rep offered to, leads by owner); reps join later.
    """
    o = OFFERS.c
    answered = o.status.in_((OfferStatus.ACCEPTED, OfferStatus.DECLINED)) & o.responded_at.is_not(None)
    response = case((answered, seconds_between(conn.dialect.name, o.responded_at, o.offered_at)))
    stats: dict[int, dict] = {}
    offers = (select(o.rep_id, func.count(), count_if(o.status == OfferStatus.ACCEPTED), count_if(answered),
                     func.sum(response))
              .select_from(f.joined(OFFERS, o.lead_id)).where(*f.offer_where()).group_by(o.rep_id))
    for rep, n, acc, ans, total in conn.execute(offers):
        stats[rep] = {"offers": n, "accepted": acc, "answered": ans, "response_total": float(total or 0)}
    won = LEADS.c.status == LeadStatus.WON
    leads = (select(LEADS.c.owner_rep_id, func.count(), count_if(won),
                    func.coalesce(func.sum(case((won, LEADS.c.won_amount))), 0.0))
             .where(*f.lead_where(), LEADS.c.owner_rep_id.is_not(None)).group_by(LEADS.c.owner_rep_id))
    for rep, n, w, amount in conn.execute(leads):
        stats.setdefault(rep, {"offers": 0, "accepted": 0, "answered": 0, "response_total": 0.0})
        stats[rep].update(leads=n, won=w, amount=float(amount))
    return stats


def _figures(s: dict) -> dict:
    offers, accepted, leads, won = s["offers"], s["accepted"], s.get("leads", 0), s.get("won", 0)
    return {"offers": offers, "accepted": accepted, "acceptance_rate": rate(accepted, offers),
            "avg_response_seconds": round(s["response_total"] / s["answered"], 1) if s["answered"] else None,
            "leads": leads, "won": won, "conversion_rate": rate(won, leads),
            "won_amount": round(s.get("amount", 0.0), 2)}


def _order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (-r["won_amount"], -r["won"], -r["accepted"], r["name"]))


def _reps(conn: Connection, ids: Collection[int]) -> dict[int, Row[Any]]:
    return {r[0]: r for r in conn.execute(select(REPS.c.id, REPS.c.name, REPS.c.team, REPS.c.partner)
                                          .where(REPS.c.id.in_(list(ids))))} if ids else {}


def reps(conn: Connection, f: Filters) -> Table:
    """Every rep with offers or owned leads under the filters, best first (won amount, won, accepted)."""
    stats = _per_rep(conn, f)
    people = _reps(conn, stats)
    rows = [{"rep_id": rep, "name": people[rep][1], "team": people[rep][2], "partner": people[rep][3], **_figures(s)}
            for rep, s in stats.items() if rep in people]
    return Table("reps", "Rep leaderboard",
                 [Column("rep_id", "Rep id", "int"), Column("name", "Rep"), Column("team", "Team"),
                  Column("partner", "Partner"), *COLUMNS], _order(rows),
                 chart={"kind": "bar", "label": "name", "values": ["won_amount"]})


def partners(conn: Connection, f: Filters) -> Table:
    """Partner organisations, over the offers and leads of their reps, best first."""
    stats = _per_rep(conn, f)
    people = _reps(conn, stats)
    sums: dict[str, dict] = {}
    for rep, s in stats.items():
        partner = people.get(rep, (None,) * 4)[3]
        if partner is None:
            continue
        into = sums.setdefault(partner, {"reps": 0, "offers": 0, "accepted": 0, "answered": 0, "response_total": 0.0,
                                         "leads": 0, "won": 0, "amount": 0.0})
        into["reps"] += 1
        for key in ("offers", "accepted", "answered", "response_total", "leads", "won", "amount"):
            into[key] += s.get(key, 0)
    rows = [{"name": name, "reps": s["reps"], **_figures(s)} for name, s in sums.items()]
    return Table("partners", "Partner leaderboard",
                 [Column("name", "Partner"), Column("reps", "Reps active", "int"), *COLUMNS], _order(rows),
                 chart={"kind": "bar", "label": "name", "values": ["won_amount"]})
