"""The company-wide view in routing (pure): who a lead of an owned or worked account is offered to.

A flow's `account.route_to_owner` puts the account's owner first for the account's later leads while
the owner holds the account (`owner_until` later than now, or no end). While another lead of the
account is being worked (accepted, not closed), a new lead is linked to that one and offered to the
owner only (the rep working the sibling when the account has no current owner): no competing rep of
the team is offered it; if the owner does not take it, the flow's normal escalation follows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.flows.matching import AccountMatch
from connector.flows.model import AccountSpec

ONLY_OWNER = "account lead being worked"  # the reason prefix of the reps passed over for the owner


@dataclass(frozen=True)
class OwnerRule:
    """Offer the lead to `rep_id` first; with `only`, to nobody else. `linked_to` is the worked sibling."""

    rep_id: int
    only: bool
    reason: str
    linked_to: int | None = None


def owner_rule(spec: AccountSpec, account: AccountMatch | None, now: datetime) -> OwnerRule | None:
    """The owner preference for a lead of `account` under the flow's account section, or None (no
    account, route_to_owner off, or nobody holds or works the account)."""
    if account is None or not spec.route_to_owner:
        return None
    owner = account.current_owner(now)
    until = f" until {account.owner_until:%Y-%m-%d}" if owner is not None and account.owner_until else ""
    if account.worked_lead_id is not None:
        holder = owner if owner is not None else account.worked_by
        if holder is not None:
            who = f"its owner rep {holder}" if owner is not None else f"rep {holder}, who works it"
            return OwnerRule(holder, True, f"account {account.domain}: lead {account.worked_lead_id} is being "
                                           f"worked; linked to it and offered only to {who}",
                             account.worked_lead_id)
    if owner is not None:
        return OwnerRule(owner, False, f"account {account.domain} is owned by rep {owner}{until}; "
                                       "offered to the owner first")
    return None
