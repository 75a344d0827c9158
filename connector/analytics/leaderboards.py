"""Rep and partner leaderboards: offers answered, acceptance, response time, leads won and amount."""
from __future__ import annotations

from sqlalchemy import Connection, case, func, or_, select

from connector.analytics.filters import LEADS, OFFERS, REPS, Filters
from connector.analytics.sql import count_if, seconds_between
from connector.analytics.table import Column, Table, rate

COLUMNS = [Column("offers", "Offers", "int"), Column("accepted", "Accepted", "int"),
           Column("acceptance_rate", "Acceptance", "rate"), Column("avg_response_seconds", "Avg response", "seconds"),
           Column("leads", "Leads owned", "int"), Column("won", "Won", "int"),
           Column("conversion_rate", "Conversion", "rate"), Column("won_amount", "Won amount", "money")]


def _aggregates(conn: Connection, f: Filters, key):
    """Subqueries keyed by `key` (a reps column): offers under the lead filters, and owned leads."""
    o = OFFERS.c
    answered = o.status.in_(("accepted", "declined"))
    response = case((answered & o.responded_at.is_not(None), seconds_between(conn.dialect.name, o.responded_at, o.offered_at)))
    offers = (select(key.label("key"), func.count().label("offers"),
                     count_if(o.status == "accepted").label("accepted"), func.avg(response).label("response"))
              .select_from(OFFERS.join(LEADS, LEADS.c.id == o.lead_id).join(REPS, REPS.c.id == o.rep_id))
              .where(*f.lead_where(people=False), *f.people_where(o.rep_id)).group_by(key).subquery("o"))
    won = LEADS.c.status == "won"
    leads = (select(key.label("key"), func.count().label("leads"), count_if(won).label("won"),
                    func.coalesce(func.sum(case((won, LEADS.c.won_amount))), 0.0).label("amount"))
             .select_from(LEADS.join(REPS, REPS.c.id == LEADS.c.owner_rep_id))
             .where(*f.lead_where()).group_by(key).subquery("l"))
    return offers, leads


def _joined(base, key, offers, leads):
    return (base.outerjoin(offers, offers.c.key == key).outerjoin(leads, leads.c.key == key),
            or_(offers.c.key.is_not(None), leads.c.key.is_not(None)))


def _row(offers, accepted, response, leads, won, amount) -> dict:
    offers, accepted, leads, won = (int(x or 0) for x in (offers, accepted, leads, won))
    return {"offers": offers, "accepted": accepted, "acceptance_rate": rate(accepted, offers),
            "avg_response_seconds": None if response is None else round(float(response), 1),
            "leads": leads, "won": won, "conversion_rate": rate(won, leads), "won_amount": round(float(amount or 0), 2)}


def _order(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (-r["won_amount"], -r["won"], -r["accepted"], r["name"]))


def reps(conn: Connection, f: Filters) -> Table:
    """Every rep with offers or owned leads under the filters, best first (won amount, won, accepted)."""
    offers, leads = _aggregates(conn, f, REPS.c.id)
    joined, active = _joined(REPS, REPS.c.id, offers, leads)
    stmt = select(REPS.c.id, REPS.c.name, REPS.c.team, REPS.c.partner, offers.c.offers, offers.c.accepted,
                  offers.c.response, leads.c.leads, leads.c.won, leads.c.amount).select_from(joined).where(active)
    rows = [{"rep_id": r[0], "name": r[1], "team": r[2], "partner": r[3], **_row(*r[4:])} for r in conn.execute(stmt)]
    return Table("reps", "Rep leaderboard",
                 [Column("rep_id", "Rep id", "int"), Column("name", "Rep"), Column("team", "Team"),
                  Column("partner", "Partner"), *COLUMNS], _order(rows),
                 chart={"kind": "bar", "label": "name", "values": ["won_amount"]})


def partners(conn: Connection, f: Filters) -> Table:
    """Partner organisations, over the offers and leads of their reps, best first."""
    offers, leads = _aggregates(conn, f, REPS.c.partner)
    names = (select(REPS.c.partner.label("partner"), func.count().label("reps"))
             .where(REPS.c.partner.is_not(None)).group_by(REPS.c.partner).subquery("p"))
    joined, active = _joined(names, names.c.partner, offers, leads)
    stmt = select(names.c.partner, names.c.reps, offers.c.offers, offers.c.accepted, offers.c.response,
                  leads.c.leads, leads.c.won, leads.c.amount).select_from(joined).where(active)
    rows = [{"name": r[0], "reps": r[1], **_row(*r[2:])} for r in conn.execute(stmt)]
    return Table("partners", "Partner leaderboard",
                 [Column("name", "Partner"), Column("reps", "Reps", "int"), *COLUMNS], _order(rows),
                 chart={"kind": "bar", "label": "name", "values": ["won_amount"]})
