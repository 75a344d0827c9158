"""The worker side of capture: claim received inbox rows in batches and turn each into a lead once.

A batch is one transaction: one statement claims up to BATCH rows (FOR UPDATE SKIP LOCKED on
PostgreSQL, so two workers never take the same row; SQLite serialises writers) and counts the attempt;
the leads are decided with one rep snapshot (routing/candidates) and stored, each inside its own
savepoint so a bad lead fails alone; the offer e-mails go out after the commit, over one SMTP
connection. A worker killed mid-batch commits nothing: its rows are received again and the next batch
takes them. CRM deliveries ("hubspot-delivery", "salesforce-delivery") belong to the sync jobs and are
never claimed here.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connector import notify
from connector.capture import decide
from connector.capture.inbox import LEASE, MAX_ATTEMPTS, SYNC_CHANNELS, parse_body
from connector.core.errors import InvalidLead
from connector.core.runtime import Runtime
from connector.flows import map_payload
from connector.store.models import InboxItem
from connector.store.statuses import InboxStatus

log = logging.getLogger(__name__)

BATCH = 50        # rows per batch: one transaction, one rep snapshot
MAX_ROUNDS = 20   # batches per wake-up before the job yields the worker (and wakes itself again)


def claimable(now: datetime):  # noqa: ANN201 (a SQLAlchemy boolean clause)
    """Rows a batch may take: received, not a CRM delivery, not under a live lease."""
    return (InboxItem.status == InboxStatus.RECEIVED) & InboxItem.channel.not_in(SYNC_CHANNELS) & \
        or_(InboxItem.lease_until.is_(None), InboxItem.lease_until < now)


def claim(session: Session, now: datetime, limit: int, ids: list[int] | None = None, *,
          skip_locked: bool = True) -> list[InboxItem]:
    """Take up to `limit` claimable rows (oldest first, or only `ids`) in the caller's transaction,
    counting the attempt and leasing them until it ends; rows another worker holds are skipped (or,
    with skip_locked=False, waited for and taken if that worker left them claimable)."""
    pick = select(InboxItem.id).where(claimable(now)).order_by(InboxItem.id).limit(limit)
    if ids is not None:
        pick = pick.where(InboxItem.id.in_(ids))
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=skip_locked)
    taken = list(session.scalars(update(InboxItem).where(InboxItem.id.in_(pick.scalar_subquery()))
                                 .values(attempts=InboxItem.attempts + 1, lease_until=now + LEASE)
                                 .returning(InboxItem.id)))
    if not taken:
        return []
    return list(session.scalars(select(InboxItem).where(InboxItem.id.in_(taken)).order_by(InboxItem.id)
                                .execution_options(populate_existing=True)))


def process_batch(rt: Runtime, *, limit: int = BATCH, ids: list[int] | None = None) -> int:
    """Claim, decide and store one batch, then send its e-mails; returns how many rows it took."""
    now = rt.clock.now()
    wait = bool(getattr(rt.queue, "synchronous", False))  # an inline caller waits for its own row
    with rt.db.session() as s:
        emails = notify.send_after_commit(s)
        items = claim(s, now, limit, ids, skip_locked=not wait)
        for item in items:
            _process_one(s, rt, item, now)
    notify.send_claimed(rt, emails)
    return len(items)


def _process_one(session: Session, rt: Runtime, item: InboxItem, now: datetime) -> None:
    """One row inside its own savepoint: a lead, a rejection (the mapping says why), or a failure kept
    on the row (its error type, never the payload) and retried after the lease, until MAX_ATTEMPTS."""
    inbox_id = item.id
    try:
        with session.begin_nested():
            body = item.record if item.record is not None else parse_body(item.payload.encode(), item.content_type)
            try:
                fields = map_payload(rt.spec, item.source, body)
            except InvalidLead as exc:
                item.status, item.errors, item.processed_at = InboxStatus.REJECTED, \
                    [e.as_dict() for e in exc.errors], now
                item.lease_until = None
                return
            lead = decide.decide_and_store(session, rt, fields, source=item.source, inbox_id=inbox_id, now=now)
            item.status, item.lead_id, item.processed_at, item.lease_until = InboxStatus.PROCESSED, lead.id, now, None
    except Exception as exc:  # the savepoint is rolled back: this lead alone fails, the batch goes on
        log.warning("inbox %s: processing failed with %s", inbox_id, type(exc).__name__)
        if item.attempts >= MAX_ATTEMPTS:
            item.status = InboxStatus.FAILED
            item.errors = [{"field": "", "problem": f"processing failed {item.attempts} times: {type(exc).__name__}"}]


def drain_task(rt: Runtime) -> None:
    """Task `capture.drain` (a wake-up): process batches until the inbox has nothing to claim, then
    stop; after MAX_ROUNDS full batches, wake the task again so other jobs get the worker."""
    for _ in range(MAX_ROUNDS):
        if process_batch(rt) < BATCH:
            return
    rt.queue.wake("capture.drain")


def process(rt: Runtime, inbox_id: int) -> None:
    """Task `capture.process` (one row by id, as queued before batches): safe to run twice."""
    process_batch(rt, ids=[int(inbox_id)])
