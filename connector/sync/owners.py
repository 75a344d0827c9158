"""Owner sync: reps' CRM owner ids filled from the CRM's users, matched by e-mail."""
from __future__ import annotations

from sqlalchemy import select

from connector.core.runtime import Runtime
from connector.store.models import Rep
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
