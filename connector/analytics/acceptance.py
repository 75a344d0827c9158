"""Offer measures: acceptance / decline / expiry rates, escalations and missed (never accepted) leads."""
from __future__ import annotations

from sqlalchemy import Connection, func, select

from connector.analytics.filters import LEADS, OFFERS, Filters
from connector.analytics.sql import count_if
from connector.analytics.table import Column, Table, rate
from connector.store.statuses import LeadStatus, OfferStatus

STATUSES = (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.EXPIRED, OfferStatus.LOST, OfferStatus.WITHDRAWN,
            OfferStatus.PENDING)


def offer_rates(conn: Connection, f: Filters) -> Table:
    """Offers by status; rates are shares of settled offers (every status but pending).

    `lost` means another rep accepted a broadcast first; `withdrawn` means the offer was taken back.
    """
    stmt = (select(OFFERS.c.status, func.count()).select_from(f.joined(OFFERS, OFFERS.c.lead_id))
            .where(*f.offer_where()).group_by(OFFERS.c.status))
    counts = dict(conn.execute(stmt).tuples().all())
    offers = sum(counts.values())
    settled = offers - counts.get(OfferStatus.PENDING, 0)
    rows = [{"status": s, "offers": counts.get(s, 0),
             "rate": None if s == OfferStatus.PENDING else rate(counts.get(s, 0), settled)}
            for s in STATUSES]
    summary = {"offers": offers, "settled": settled,
               "acceptance_rate": rate(counts.get(OfferStatus.ACCEPTED, 0), settled),
               "decline_rate": rate(counts.get(OfferStatus.DECLINED, 0), settled),
               "expiry_rate": rate(counts.get(OfferStatus.EXPIRED, 0), settled)}
    return Table("offer_rates", "Offers: acceptance, decline and expiry",
                 [Column("status", "Status"), Column("offers", "Offers", "int"),
                  Column("rate", "Share of settled", "rate")],
                 rows, summary=summary, chart={"kind": "bar", "label": "status", "values": ["offers"]})


WAITING = (LeadStatus.OFFERED, LeadStatus.HELD)  # routed, not yet missed: an offer is out, or will be


def missed(conn: Connection, f: Filters) -> Table:
    """Routed leads: how many were accepted, are still waiting on an offer, were escalated, or never accepted.

    still waiting = not accepted and on an open offer (offered) or held for a rep's working hours (held).
    never accepted = routed, no accepted_at, and no longer waiting.
    missed rate = never accepted / (routed - still waiting).
    """
    c = LEADS.c
    not_accepted = c.accepted_at.is_(None)
    waits = c.status.in_(WAITING)
    stmt = (select(func.count(), count_if(c.first_offered_at.is_not(None)), count_if(c.accepted_at.is_not(None)),
                   count_if(not_accepted & waits), count_if(c.status == LeadStatus.ESCALATED),
                   count_if(not_accepted & ~waits))
            .where(*f.lead_where(), c.outcome == "routed"))
    routed, offered, accepted, waiting, escalated, never = conn.execute(stmt).one()
    decided = routed - waiting
    rows = [{"stage": "routed", "leads": routed, "rate": None},
            {"stage": "offered", "leads": offered, "rate": rate(offered, routed)},
            {"stage": "accepted", "leads": accepted, "rate": rate(accepted, decided)},
            {"stage": "still waiting", "leads": waiting, "rate": None},
            {"stage": "escalated", "leads": escalated, "rate": rate(escalated, decided)},
            {"stage": "never accepted", "leads": never, "rate": rate(never, decided)}]
    return Table("missed", "Escalations and missed leads",
                 [Column("stage", "Leads"), Column("leads", "Count", "int"), Column("rate", "Rate", "rate")], rows,
                 summary={"routed": routed, "escalated": escalated, "never_accepted": never,
                          "missed_rate": rate(never, decided)},
                 chart={"kind": "bar", "label": "stage", "values": ["leads"]},
                 note="Rates are shares of routed leads no longer waiting on an open offer or a working day.")
