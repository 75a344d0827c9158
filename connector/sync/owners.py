"""Owners: reps' CRM owner ids filled from the CRM's users (matched by e-mail), and a lead's owner kept
the same in both CRMs by the flow's system of record (crm: {system_of_record: {owner: CRM}}): a change
from that CRM is copied to the other, a change from the other CRM is written back over (sync/inbound.py)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.store import writeback
from connector.store.models import Lead, Rep
from connector.sync import drain

REP_COLUMN = {"hubspot": "hubspot_owner_id", "salesforce": "salesforce_user_id"}


def sync_owners(rt: Runtime, crm: str) -> dict[str, int]:
    """Set each active rep's owner id for `crm` from the CRM user with the same e-mail (case-insensitive)."""
    owners = {o.email.strip().lower(): o.id for o in drain.adapter(rt, crm).owners()}
    column = REP_COLUMN[crm]
    done = {"matched": 0, "changed": 0, "unmatched": 0}
    with rt.db.session() as s:
        for rep in s.scalars(select(Rep).where(Rep.active.is_(True))):
            owner_id = owners.get(rep.email.strip().lower())
            if owner_id is None:
                done["unmatched"] += 1
                continue
            done["matched"] += 1
            if getattr(rep, column) != owner_id:
                setattr(rep, column, owner_id)
                done["changed"] += 1
    return done


def system_of_record(rt: Runtime, lead: Lead) -> str | None:
    """The CRM whose owner changes win for this lead (its flow's crm.system_of_record.owner), or None.

    Only a flow that writes to both CRMs reconciles owners: with one CRM there is nothing to reconcile."""
    if not lead.flow:
        return None
    try:
        crm = rt.spec.flow(lead.flow).crm
    except NotFound:
        return None
    if crm.hubspot is None or crm.salesforce is None:
        return None
    return crm.system_of_record.get("owner")


def copy_owner(session: Session, rt: Runtime, lead: Lead, source: str) -> list[str]:
    """Queue the lead's owner for every CRM but `source` (in the caller's transaction); returns those CRMs."""
    others = tuple(crm for crm in REP_COLUMN if crm != source)
    rows = writeback.enqueue_lead_write(session, rt, lead, reason="owner", crms=others)
    return sorted({row.crm for row in rows})
