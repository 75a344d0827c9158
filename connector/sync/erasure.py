"""A person's data on request (`leadwire privacy`, /api/people): erased everywhere in Leadwire, then in
the CRMs their leads were written to (task "privacy.crm_delete", lead ids only); or exported as JSON.
Each request leaves a privacy_log row without personal data."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update

from connector.core.errors import CrmError
from connector.core.runtime import Runtime
from connector.crm import configured
from connector.store import privacy, timeline
from connector.store.models import Lead, TimelineEvent
from connector.sync.drain import adapter

log = logging.getLogger(__name__)
CRM_DELETE = "privacy.crm_delete"  # the task name, and the kind of the timeline notes it leaves
RETRY_AFTER = timedelta(minutes=10)
BATCH = 100


def erase(rt: Runtime, email: str, *, by: str) -> dict[str, int]:
    """Erase the person (store/privacy.erase_person) and queue the deletion of their CRM records in every
    configured CRM; rows changed per table, plus "crm_records" to be deleted."""
    now = rt.clock.now()
    with rt.db.session() as s:
        ids = privacy.lead_ids(s, email)
        records = privacy.crm_records(s, ids)
        counts = privacy.erase_person(s, email, now, key=rt.settings.secret_key, by=by)
    crms = set(configured(rt.settings.env))
    counts["crm_records"] = sum(len(found) for crm, found in records.items() if crm in crms)
    if counts["crm_records"]:
        try:
            rt.queue.enqueue(CRM_DELETE, ids)
        except Exception as exc:  # the erasure is committed: the tick's privacy.crm_delete_due step deletes them
            log.warning("privacy deletion of leads %s committed, queueing the CRM deletion failed (%s); the tick "
                        "takes it", ids, type(exc).__name__)
    return counts


def export(rt: Runtime, email: str, *, by: str) -> dict[str, Any]:
    """Everything held about the person (store/privacy.export_person); the export is logged."""
    with rt.db.session() as s:
        held = privacy.export_person(s, email)
        privacy.log(s, "export", by, {"leads": len(held["leads"])}, rt.clock.now(),
                    person=privacy.person_hash(email, rt.settings.secret_key))
    return held


def crm_delete_task(rt: Runtime, lead_ids: list[int]) -> None:
    """Delete these leads' records in every configured CRM, then forget their CRM ids; the outcome is on
    each lead's timeline. A CRM that fails keeps its ids: crm_delete_due tries again after RETRY_AFTER."""
    with rt.db.session() as s:
        records = privacy.crm_records(s, lead_ids)
    crms = set(configured(rt.settings.env))
    for crm, record_ids in records.items():
        if crm not in crms:
            continue
        try:
            adapter(rt, crm).delete(record_ids)
        except CrmError as exc:
            log.warning("privacy deletion of %d %s records failed (%s)", len(record_ids), crm, type(exc).__name__)
            _note(rt, lead_ids, f"The {crm} records could not be deleted ({type(exc).__name__}): the tick tries "
                  f"again in {RETRY_AFTER.seconds // 60} minutes", {"crm": crm, "deleted": False})
            continue
        column = privacy.CRM_ID_COLUMNS[crm]
        with rt.db.session() as s:
            s.execute(update(Lead).where(Lead.id.in_(lead_ids)).values({column: None}))
            privacy.log(s, "erase", f"{crm} deletion", {"crm_records": len(record_ids)}, rt.clock.now())
        _note(rt, lead_ids, f"The person's {crm} records were deleted", {"crm": crm, "deleted": True})


def crm_delete_due(rt: Runtime, now: datetime) -> int:
    """Tick step: erased leads that still have a record in a configured CRM (their job was lost, or the CRM
    failed more than RETRY_AFTER ago) have it deleted, at most BATCH leads per tick; returns the leads."""
    columns = [getattr(Lead, privacy.CRM_ID_COLUMNS[crm]) for crm in configured(rt.settings.env)
               if crm in privacy.CRM_ID_COLUMNS]
    if not columns:
        return 0
    erased = exists().where(TimelineEvent.lead_id == Lead.id, TimelineEvent.kind == privacy.ERASED_KIND)
    tried = exists().where(TimelineEvent.lead_id == Lead.id, TimelineEvent.kind == CRM_DELETE,
                           TimelineEvent.at > now - RETRY_AFTER)
    with rt.db.session() as s:
        ids = list(s.scalars(select(Lead.id).where(or_(*[c.is_not(None) for c in columns]), erased, ~tried)
                             .order_by(Lead.id).limit(BATCH)))
    if ids:
        crm_delete_task(rt, ids)
    return len(ids)


def _note(rt: Runtime, lead_ids: list[int], message: str, data: dict[str, Any]) -> None:
    with rt.db.session() as s:
        for lead_id in lead_ids:
            timeline.record(s, lead_id, "privacy.crm_delete", message, data, at=rt.clock.now())
