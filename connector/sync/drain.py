"""Sync to the CRMs: changes written to the outbox in the caller's transaction, then drained in batches.

Drain: claim due rows (a lease, so a crashed worker's rows come back), coalesce each record's pending
changes into one write, push the largest batch the API allows, then record one outcome per record:
sent, parked with the CRM's reason (the rest of the batch still goes through), or pending again after
Retry-After / backoff. Every write is an update by CRM id or an upsert by external id, so a batch that
is re-sent after a crash changes nothing twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, not_, or_, select, update
from sqlalchemy.orm import Session

from connector.core.backoff import CRM_WRITES
from connector.core.errors import CrmAuthError
from connector.core.runtime import Runtime
from connector.crm import adapter_for, configured
from connector.crm.base import Change, CrmAdapter, PushResult, PushStatus
from connector.store import timeline
from connector.store.models import Lead, OutboxItem
from connector.store.statuses import OutboxStatus
from connector.store.writeback import ID_COLUMN, crm_id, external_id

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)


def adapter(rt: Runtime, crm: str) -> CrmAdapter:
    """The runtime's adapter for `crm`, built once from the environment (tests may place their own);
    it reads every field the flows' write-back mappings name for that CRM."""
    cache: dict[str, CrmAdapter] = rt.extras.setdefault("crm", {})
    if crm not in cache:
        cache[crm] = adapter_for(crm, rt.settings.env)
    mappings = [getattr(flow.crm, crm, None) for flow in rt.spec.flows]
    cache[crm].track([f.target for m in mappings if m for f in m.fields])
    return cache[crm]


@dataclass
class DrainReport:
    sent: int = 0
    parked: int = 0
    retry: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "parked": self.parked, "retry": self.retry, "batches": self.batches}


def _claim(rt: Runtime, crm: str, limit: int, now: datetime, *, known: bool) -> dict[int, list[OutboxItem]]:
    """Lease up to `limit` records' due rows (all of each record's due rows, oldest first): records the CRM
    already knows (`known`: an update by id) or records still to be created (an upsert), never both, so that
    each batch is one API call."""
    has_id = or_(getattr(Lead, ID_COLUMN[crm]).is_not(None), OutboxItem.record_id.is_not(None))
    with rt.db.session() as s:
        query = (select(OutboxItem).outerjoin(Lead, Lead.id == OutboxItem.lead_id)
                 .where(OutboxItem.crm == crm, OutboxItem.status == OutboxStatus.PENDING,
                        OutboxItem.next_attempt_at <= now, has_id if known else not_(has_id))
                 .order_by(OutboxItem.id).limit(limit * 5))
        if rt.db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxItem)
        groups: dict[int, list[OutboxItem]] = {}
        for row in s.scalars(query):
            key = row.lead_id if row.lead_id is not None else -row.id
            if key in groups or len(groups) < limit:
                groups.setdefault(key, []).append(row)
        for rows in groups.values():
            for row in rows:
                row.next_attempt_at, row.attempts = now + LEASE, row.attempts + 1
        return groups


def _changes(rt: Runtime, crm: str, groups: dict[int, list[OutboxItem]]) -> list[Change]:
    changes: list[Change] = []
    with rt.db.session() as s:
        leads = {lead.id: lead for lead in s.scalars(select(Lead).where(Lead.id.in_([k for k in groups if k > 0])))}
        for key, rows in groups.items():
            merged: dict[str, Any] = {}
            for row in rows:
                merged.update(row.fields)
            lead = leads.get(key)
            record = (crm_id(lead, crm) if lead else None) or rows[-1].record_id
            match = None if record else (external_id(lead, crm) if lead else None)
            if record or match:
                changes.append(Change(str(key), merged, record_id=record, external_id=match))
    return changes


def _unwritable(groups: dict[int, list[OutboxItem]], changes: list[Change]) -> list[PushResult]:
    """Parked results for records with neither a CRM id nor an upsert key (e.g. the e-mail was removed)."""
    keys = {c.key for c in changes}
    return [PushResult(str(k), PushStatus.PARKED, message="no CRM id and nothing to match the record by (e-mail)")
            for k in groups if str(k) not in keys]


def _record(rt: Runtime, crm: str, groups: dict[int, list[OutboxItem]], results: list[PushResult], now: datetime,
            report: DrainReport) -> None:
    with rt.db.session() as s:
        all_ids = [r.id for rows in groups.values() for r in rows]
        stored = {row.id: row for row in s.scalars(select(OutboxItem).where(OutboxItem.id.in_(all_ids)))}
        leads = {lead.id: lead for lead in s.scalars(select(Lead).where(Lead.id.in_([k for k in groups if k > 0])))}
        for result in results:
            key = int(result.key)
            ids = [r.id for r in groups[key]]
            lead = leads.get(key)
            for row in (stored[i] for i in ids):
                if result.status == PushStatus.OK:
                    row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
                    row.record_id = result.record_id
                elif result.status == PushStatus.PARKED:
                    row.status, row.last_error = OutboxStatus.PARKED, result.message
                else:
                    row.last_error = result.message
                    row.next_attempt_at = now + CRM_WRITES.wait(row.attempts, result.retry_after)
            if result.status == PushStatus.OK:
                report.sent += 1
                if lead is not None and result.record_id and not crm_id(lead, crm):
                    setattr(lead, ID_COLUMN[crm], result.record_id)
            elif result.status == PushStatus.PARKED:
                report.parked += 1
                if lead is not None:
                    timeline.record(s, lead.id, "crm.parked", f"{crm} refused the write-back: {result.message}",
                                    {"crm": crm, "outbox": ids}, at=now)
            else:
                report.retry += 1


def drain(rt: Runtime, crm: str, *, now: datetime | None = None, max_batches: int | None = None) -> DrainReport:
    """Push every due change for `crm`, one batch at a time; safe to run concurrently and to re-run."""
    now = now or rt.clock.now()
    crm_adapter = adapter(rt, crm)
    report = DrainReport()
    kinds = [True, False]  # updates of known records first, then upserts of new ones
    while kinds and (max_batches is None or report.batches < max_batches):
        groups = _claim(rt, crm, crm_adapter.batch_limit, now, known=kinds[0])
        if not groups:
            kinds.pop(0)
            continue
        report.batches += 1
        changes = _changes(rt, crm, groups)
        try:
            results = (crm_adapter.push(changes) if changes else []) + _unwritable(groups, changes)
        except CrmAuthError as exc:
            later = [PushResult(str(k), PushStatus.RETRY, message=str(exc), retry_after=LEASE.total_seconds())
                     for k in groups]
            _record(rt, crm, groups, later, now, report)
            raise
        _record(rt, crm, groups, results, now, report)
        if results and all(r.status == PushStatus.RETRY for r in results):
            break  # the CRM is down or out of quota: the rest waits for the next round
    return report


def drain_task(rt: Runtime, crm: str) -> None:
    """Task "sync.drain": never raises for CRM trouble (RQ would retry on top of our retries)."""
    try:
        report = drain(rt, crm)
        log.info("sync %s: %s", crm, report.as_dict())
    except CrmAuthError as exc:
        log.error("sync %s stopped: %s", crm, exc)


def drain_due(rt: Runtime, now: datetime) -> int:
    """Tick step: queue a drain for each configured CRM with due outbox rows; returns rows due."""
    due = 0
    for crm in configured(rt.settings.env) or list(rt.extras.get("crm", {})):
        with rt.db.session() as s:
            n = s.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.crm == crm, OutboxItem.status == OutboxStatus.PENDING, OutboxItem.next_attempt_at <= now))
        if n:
            rt.queue.enqueue("sync.drain", crm)
            due += n
    return due


def status(session: Session) -> dict[str, dict[str, int]]:
    """Per CRM: pending (waiting), failed (pending after an error, will retry), parked, sent."""
    out: dict[str, dict[str, int]] = {}
    rows = session.execute(select(OutboxItem.crm, OutboxItem.status, OutboxItem.last_error.is_not(None), func.count())
                           .group_by(OutboxItem.crm, OutboxItem.status, OutboxItem.last_error.is_not(None)))
    for crm, state, has_error, n in rows:
        counts = out.setdefault(crm, {"pending": 0, "failed": 0, "parked": 0, "sent": 0})
        key = "failed" if state == OutboxStatus.PENDING and has_error else state
        counts[key] = counts.get(key, 0) + n
    return out


def retry_parked(session: Session, now: datetime, crm: str | None = None) -> int:
    """Re-queue parked rows (after fixing their cause); returns how many."""
    query = update(OutboxItem).where(OutboxItem.status == OutboxStatus.PARKED)
    if crm:
        query = query.where(OutboxItem.crm == crm)
    result = session.execute(query.values(status=OutboxStatus.PENDING, next_attempt_at=now, attempts=0))
    return cast(CursorResult[Any], result).rowcount  # an UPDATE's result is a CursorResult
