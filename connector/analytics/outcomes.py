"""Pursuit measures: feedback compliance per level, the pursuit funnel, conversion by source and campaign."""
from __future__ import annotations

from sqlalchemy import Connection, Subquery, case, exists, func, or_, select

from connector.analytics.filters import LEADS, Filters
from connector.analytics.sql import count_if, lead_order_plan
from connector.analytics.table import Column, Table, rate
from connector.store.models import FeedbackRequest, FeedbackResponse
from connector.store.statuses import LeadStatus

REQUESTS = FeedbackRequest.__table__
RESPONSES = FeedbackResponse.__table__
LEVELS = {1: "1 · action taken", 2: "2 · pursuit status", 3: "3 · won / lost"}


def _feedback_per_lead() -> Subquery:
    """One row per lead with feedback: highest level reached and whether contact was reported."""
    r = RESPONSES.c
    contacted = or_(r.contacted.is_(True), r.action.is_not(None), r.level >= 2)
    return (select(r.lead_id, func.max(r.level).label("level"),
                   func.max(case((contacted, 1), else_=0)).label("contacted"))
            .group_by(r.lead_id).subquery("fb"))


def feedback_compliance(conn: Connection, f: Filters) -> Table:
    """Of accepted leads whose owner was asked for feedback, the share that reported each level."""
    fb = _feedback_per_lead()
    asked = exists().where(REQUESTS.c.lead_id == LEADS.c.id, REQUESTS.c.sent_at.is_not(None))
    level = func.coalesce(fb.c.level, 0)
    stmt = (select(func.count(), *[count_if(level >= n) for n in LEVELS])
            .select_from(LEADS.outerjoin(fb, fb.c.lead_id == LEADS.c.id))
            .where(*f.lead_where(), LEADS.c.accepted_at.is_not(None), asked))
    with lead_order_plan(conn):
        n_asked, *reached = conn.execute(stmt).one()
    rows = [{"level": LEVELS[n], "asked": n_asked, "reported": got, "rate": rate(got, n_asked)}
            for n, got in zip(LEVELS, reached, strict=True)]
    q = REQUESTS.c
    req = conn.execute(select(count_if(q.sent_at.is_not(None)), count_if(q.answered_at.is_not(None)))
           .select_from(f.joined(REQUESTS, q.lead_id))
           .where(*f.lead_where(people=False), *f.people_where(q.rep_id))).one()
    return Table("feedback_compliance", "Feedback compliance per level",
                 [Column("level", "Level"), Column("asked", "Leads asked", "int"),
                  Column("reported", "Reported", "int"), Column("rate", "Compliance", "rate")],
                 rows, summary={"requests_sent": req[0], "requests_answered": req[1],
                                "answer_rate": rate(req[1], req[0])},
                 chart={"kind": "bar", "label": "level", "values": ["rate"]})


def funnel(conn: Connection, f: Filters) -> Table:
    """Accepted → contacted → in discussion → won / lost; each stage's share of accepted leads.

    contacted: feedback reported contact, an action, or a pursuit status; in discussion: a pursuit
    status (level 2+) was reported; won / lost: the lead's status. A closed lead counts as contacted.
    """
    fb = _feedback_per_lead()
    closed = LEADS.c.status.in_((LeadStatus.WON, LeadStatus.LOST))
    stmt = (select(func.count(), count_if(or_(fb.c.contacted == 1, closed)), count_if(or_(fb.c.level >= 2, closed)),
                   count_if(LEADS.c.status == LeadStatus.WON), count_if(LEADS.c.status == LeadStatus.LOST))
            .select_from(LEADS.outerjoin(fb, fb.c.lead_id == LEADS.c.id))
            .where(*f.lead_where(), LEADS.c.accepted_at.is_not(None)))
    with lead_order_plan(conn):
        accepted, *stages = conn.execute(stmt).one()
    names = ["contacted", "in discussion", "won", "lost"]
    rows = [{"stage": "accepted", "leads": accepted, "rate": rate(accepted, accepted)}]
    rows += [{"stage": s, "leads": n, "rate": rate(n, accepted)} for s, n in zip(names, stages, strict=True)]
    return Table("funnel", "Pursuit funnel",
                 [Column("stage", "Stage"), Column("leads", "Leads", "int"),
                  Column("rate", "Share of accepted", "rate")],
                 rows, chart={"kind": "funnel", "label": "stage", "values": ["leads"]})


def conversion(conn: Connection, f: Filters) -> Table:
    """Per source and campaign: leads, accepted, won, conversion (won / leads) and amount won."""
    c = LEADS.c
    won = c.status == LeadStatus.WON
    campaign = func.coalesce(c.campaign, "(none)").label("campaign")
    amount = func.coalesce(func.sum(case((won, c.won_amount), else_=None)), 0.0)
    stmt = (select(c.source, campaign, func.count(), count_if(c.accepted_at.is_not(None)), count_if(won), amount)
            .where(*f.lead_where()).group_by(c.source, campaign).order_by(amount.desc(), c.source, campaign))
    rows = [{"source": s, "campaign": camp, "leads": n, "accepted": acc, "won": w,
             "conversion_rate": rate(w, n), "won_amount": round(float(amt), 2)}
            for s, camp, n, acc, w, amt in conn.execute(stmt)]
    leads, won_n = sum(r["leads"] for r in rows), sum(r["won"] for r in rows)
    for r in rows:
        r["program"] = f"{r['source']} / {r['campaign']}"
    return Table("conversion", "Conversion by source and campaign",
                 [Column("source", "Source"), Column("campaign", "Campaign"), Column("leads", "Leads", "int"),
                  Column("accepted", "Accepted", "int"), Column("won", "Won", "int"),
                  Column("conversion_rate", "Conversion", "rate"), Column("won_amount", "Won amount", "money")],
                 rows, summary={"leads": leads, "won": won_n, "conversion_rate": rate(won_n, leads),
                                "won_amount": round(sum(r["won_amount"] for r in rows), 2)},
                 chart={"kind": "bar", "label": "program", "values": ["won_amount"]})


__all__ = ["feedback_compliance", "funnel", "conversion"]
