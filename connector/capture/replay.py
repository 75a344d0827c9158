"""Replay the database: decide the stored leads no rep has taken again under a flows spec, and list (or
apply) what would change.

A lead is replayed while its status is none of accepted, won, lost, closed or duplicate (merged into
another), optionally only those captured since a time. Leads are read in keyset pages by id (`batch` at
a time, the read session rolled back and emptied between pages), so memory stays bounded however many
leads there are. A lead *changes* when the new decision's outcome, flow, team or MQL level differs from
the stored one.

The dry run (apply=False) writes nothing. With apply=True every changed lead is decided again by
capture/lifecycle.redecide(cause="replay") in its own short transaction — its state re-checked under the
row lock, so a lead accepted meanwhile is left alone — and gets a "replayed" timeline entry naming the
flows file and its hash (Spec.hash).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from connector.capture import lifecycle
from connector.capture.stored import decide_stored
from connector.core.runtime import Runtime
from connector.flows import Decision, Spec
from connector.routing import offers
from connector.store import timeline
from connector.store.models import Lead
from connector.store.statuses import LeadStatus

SKIPPED = (LeadStatus.ACCEPTED, LeadStatus.WON, LeadStatus.LOST, LeadStatus.CLOSED, LeadStatus.DUPLICATE)
BATCH = 500
CAUSE = "replay"


@dataclass(frozen=True)
class Side:
    """One side of a replayed lead: the stored decision, or the new one."""

    outcome: str | None
    flow: str | None
    score: int | None
    mql_level: int | None
    team: str | None
    nurture_stream: str | None = None
    reject_reason: str | None = None

    @classmethod
    def of_lead(cls, lead: Lead) -> Side:
        return cls(lead.outcome, lead.flow, lead.score, lead.mql_level, lead.team, lead.nurture_stream,
                   lead.reject_reason)

    @classmethod
    def of_decision(cls, d: Decision) -> Side:
        return cls(d.outcome, d.flow, d.score, d.mql_level, d.team, d.nurture_stream, d.reject_reason)

    def key(self) -> tuple:
        """What counts as a change: outcome, flow, team, MQL level."""
        return self.outcome, self.flow, self.team, self.mql_level or None


@dataclass(frozen=True)
class Replayed:
    """One lead considered: its stored and new decision (None when unchanged), and with apply what
    redecide did ("promoted", "demoted", "rescored", "unchanged", or "skipped: <status>")."""

    lead_id: int
    email: str | None
    status: str
    before: Side | None = None
    after: Side | None = None
    applied: str | None = None
    message: str = ""

    @property
    def changed(self) -> bool:
        return self.after is not None


def _where(since: datetime | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Lead.status.not_in(list(SKIPPED))]
    if since is not None:
        conds.append(Lead.captured_at >= since)
    return conds


def count(rt: Runtime, *, since: datetime | None = None) -> int:
    """How many stored leads a replay considers."""
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(Lead).where(*_where(since))) or 0


def replay(rt: Runtime, spec: Spec, now: datetime, *, since: datetime | None = None, apply: bool = False,
           by: str = "replay", batch: int = BATCH) -> Iterator[Replayed]:
    """Every lead a replay considers, in id order, with its change under `spec` (see the module docstring)."""
    after_id = 0
    while True:
        page = _page(rt, spec, now, since, after_id, batch)
        if not page:
            return
        after_id = page[-1].lead_id
        for item in page:
            yield _apply(rt, spec, now, item, by) if apply and item.changed else item


def _page(rt: Runtime, spec: Spec, now: datetime, since: datetime | None, after_id: int,
          batch: int) -> list[Replayed]:
    """One keyset page, decided under `spec` in a read-only session (rolled back, emptied)."""
    with Session(rt.db.engine, expire_on_commit=False) as reader:
        leads = reader.scalars(select(Lead).where(Lead.id > after_id, *_where(since))
                               .order_by(Lead.id).limit(batch)).all()
        page = []
        for lead in leads:
            before, after = Side.of_lead(lead), Side.of_decision(decide_stored(reader, rt, lead, now, spec))
            changed = before.key() != after.key()
            page.append(Replayed(lead.id, lead.email, str(lead.status), before, after if changed else None))
        reader.rollback()  # nothing was written: this ends the page's read transaction
        reader.expunge_all()
    return page


def _apply(rt: Runtime, spec: Spec, now: datetime, item: Replayed, by: str) -> Replayed:
    """Decide one changed lead again with redecide, in its own transaction, and record the replay."""
    with rt.db.session() as s:
        lead = offers.lock_lead(s, item.lead_id)
        if lead.status in SKIPPED:  # a rep took it since the page was read
            return Replayed(item.lead_id, item.email, str(lead.status), item.before, item.after,
                            f"skipped: {lead.status}", f"lead {lead.id} is {lead.status} now: left alone")
        done = lifecycle.redecide(s, rt, lead, now, cause=CAUSE, by=by, spec=spec)
        message = done.message if done.transition != "unchanged" else (
            f"kept {lead.status}: a lead in routing keeps its routing (reroute it to take the new decision)")
        timeline.record(s, lead.id, "replayed",
                        f"Replayed under {spec.file} (flows hash {spec.hash}) by {by}: {message}",
                        {"flows_hash": spec.hash, "flows_file": spec.file, "by": by, "transition": done.transition,
                         "before": done.before.as_dict(), "after": done.after.as_dict()}, at=now)
        return Replayed(item.lead_id, item.email, str(lead.status), item.before, item.after, done.transition,
                        message)
