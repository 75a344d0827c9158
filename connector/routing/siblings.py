"""A won lead settles its account's other open leads (siblings): tick step `accounts.settle_won`.

The won lead's flow's `account.on_won` says what its open siblings (new, offered, escalated, held or
accepted, of the same account) do:
- close_siblings: closed (status closed, closed_at now, pending offers withdrawn, scheduled feedback
  cancelled, the status written to the CRM), timeline "closed: account acme.com won on lead #12";
- reroute_siblings: offered again under the current flows (routing.release.reroute); a sibling a rep is
  working (accepted) stays with that rep;
- keep_siblings: left as they are.
Each sibling gets exactly one timeline entry of kind `account.won` per win, which is also the step's
mark of work done.

Why a tick step and not a task queued after the feedback's commit: the feedback use case (pursuit) sits
below routing and stays unaware of accounts; a win reported by the CRM, the feedback form or any later
path is seen alike (by its "feedback.closed" timeline entry, through ix_timeline_kind_at); and nothing is
lost when a worker dies between commit and job, since the next tick finds the win again. The scan looks
back WON_LOOKBACK; the `account.won` marks make it idempotent and safe to run concurrently (each sibling
is settled with its row locked, after checking the mark again).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from connector.core.runtime import Runtime
from connector.pursuit import schedule
from connector.routing import offers, release
from connector.routing.accounts import account_spec
from connector.store import timeline, writeback
from connector.store.models import Account, Lead, Offer, TimelineEvent
from connector.store.statuses import LeadStatus, OfferStatus

WON_KINDS = ("feedback.closed",)  # the timeline entries that close a lead (won or lost: the status tells)
MARK = "account.won"
WON_LOOKBACK = timedelta(days=7)
BATCH = 200
OPEN = (LeadStatus.NEW, LeadStatus.OFFERED, LeadStatus.ESCALATED, LeadStatus.HELD, LeadStatus.ACCEPTED)


def _due(session: Session, now: datetime) -> list[tuple[int, int, datetime]]:
    """(won lead, open sibling, won at) pairs not yet settled, oldest win first."""
    won_at, won, sib, mark = aliased(TimelineEvent), aliased(Lead), aliased(Lead), aliased(TimelineEvent)
    settled = exists().where(mark.lead_id == sib.id, mark.kind == MARK, mark.at >= won_at.at)
    rows = session.execute(
        select(won.id, sib.id, won_at.at)
        .join(won, won.id == won_at.lead_id)
        .join(sib, and_(sib.account_id == won.account_id, sib.id != won.id))
        .where(won_at.kind.in_(WON_KINDS), won_at.at >= now - WON_LOOKBACK, won.status == LeadStatus.WON,
               won.account_id.is_not(None), sib.status.in_(OPEN), ~settled)
        .order_by(won_at.at, sib.id).limit(BATCH))
    return [(w, s, at) for w, s, at in rows]


def settle_won(rt: Runtime, now: datetime) -> int:
    """Tick step: settle the open siblings of recently won leads; returns how many siblings were settled."""
    with rt.db.session() as s:
        due = _due(s, now)
    done = 0
    for won_id, sibling_id, won_at in dict.fromkeys(due):
        with rt.db.session() as s:
            sibling = offers.lock_lead(s, sibling_id)
            won = s.get(Lead, won_id)
            marked = s.scalar(select(TimelineEvent.id).where(TimelineEvent.lead_id == sibling_id,
                                                             TimelineEvent.kind == MARK, TimelineEvent.at >= won_at))
            if won is None or won.status != LeadStatus.WON or sibling.status not in OPEN or marked is not None:
                continue
            _settle(s, rt, won, sibling, now)
            done += 1
    return done


def _settle(session: Session, rt: Runtime, won: Lead, sibling: Lead, now: datetime) -> None:
    mode = account_spec(rt, won.flow).on_won
    account = session.get(Account, won.account_id)
    what = f"account {account.domain if account else won.account_id} won on lead #{won.id}"
    data = {"won_lead_id": won.id, "account_id": won.account_id, "on_won": mode}
    if mode == "close_siblings":
        _withdraw(session, sibling, now)
        sibling.status, sibling.closed_at, sibling.hold_until, sibling.updated_at = LeadStatus.CLOSED, now, None, now
        timeline.record(session, sibling.id, MARK, f"closed: {what}", data, at=now)
        schedule.cancel_scheduled(session, sibling, what, now)
        writeback.enqueue_lead_write(session, rt, sibling, {"status": sibling.status,
                                                             "closed_at": now.isoformat()})
    elif mode == "reroute_siblings" and sibling.status != LeadStatus.ACCEPTED:
        _withdraw(session, sibling, now)
        sibling.hold_until = None
        timeline.record(session, sibling.id, MARK, f"{what}: offered again under the current flows", data, at=now)
        release.reroute(session, rt, sibling, now, f"Re-routed: {what}")
    else:
        why = "it is being worked" if sibling.status == LeadStatus.ACCEPTED else "the flow keeps siblings"
        timeline.record(session, sibling.id, MARK, f"{what}; left as it is ({why})", data, at=now)


def _withdraw(session: Session, lead: Lead, now: datetime) -> None:
    """Withdraw the lead's pending offers (the lead moved on)."""
    session.execute(update(Offer).where(Offer.lead_id == lead.id, Offer.status == OfferStatus.PENDING)
                    .values(status=OfferStatus.WITHDRAWN, responded_at=now))
