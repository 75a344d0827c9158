"""The company-wide view in the routing use case: who owns an account, and siblings waiting behind a lead.

- `claim_on_accept` (called by offers.accept with the lead locked): under the lead's flow's
  `account.owner_on_accept`, the accepting rep becomes the owner of an account nobody currently holds
  (no owner, or owner_until passed), until accepted_at + hold_days; the owner's own later accepts push
  owner_until on. An owner already set and current (e.g. the CRM's owner, or one set by hand; an
  owner_until of None never lapses) is kept: another rep's accept does not take the account.
- `link_sibling` (called by offers.start): a lead the engine planned behind a sibling being worked
  (`RoutingPlan.linked_to`, flows.ownership) gets `leads.linked_to_id` and a timeline entry.

Timeline entries about the account have kinds starting with "account." (the account view lists them).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from connector.core.clock import as_utc
from connector.core.errors import NotFound
from connector.core.runtime import Runtime
from connector.flows import RoutingPlan
from connector.flows.model import AccountSpec
from connector.store import timeline
from connector.store.models import Account, Lead, Rep

KIND_PREFIX = "account."


def account_spec(rt: Runtime, flow_name: str | None) -> AccountSpec:
    """The account section of a flow; the defaults for a lead of no (longer) known flow."""
    if rt.spec is None or not flow_name:
        return AccountSpec()
    try:
        return rt.spec.flow(flow_name).account
    except NotFound:
        return AccountSpec()


def claim_on_accept(session: Session, rt: Runtime, lead: Lead, rep: Rep, now: datetime) -> None:
    """Make `rep` the owner of the lead's account, or renew their hold, as the module docstring says."""
    spec = account_spec(rt, lead.flow)
    if lead.account_id is None or not spec.owner_on_accept:
        return
    account = session.get(Account, lead.account_id, with_for_update=True, populate_existing=True)
    if account is None:
        return
    until, held = now + timedelta(days=spec.hold_days), as_utc(account.owner_until)
    data = {"account_id": account.id, "domain": account.domain, "rep_id": rep.id, "owner_until": until.isoformat()}
    if account.owner_rep_id is None or (held is not None and held <= now):
        lapsed = account.owner_rep_id
        account.owner_rep_id, account.owner_until = rep.id, until
        timeline.record(session, lead.id, "account.owner",
                        f"account {account.domain} now owned by {rep.name} until {until:%Y-%m-%d}"
                        + (f" (rep {lapsed}'s hold had lapsed)" if lapsed is not None else ""),
                        {**data, "previous_rep_id": lapsed}, at=now)
    elif account.owner_rep_id == rep.id:
        if held is not None and held < until:
            account.owner_until = until
            timeline.record(session, lead.id, "account.owner",
                            f"account {account.domain} stays with {rep.name}, now until {until:%Y-%m-%d}", data,
                            at=now)
    else:
        owner = session.get(Rep, account.owner_rep_id)
        name = owner.name if owner else f"rep {account.owner_rep_id}"
        timeline.record(session, lead.id, "account.owner_kept",
                        f"account {account.domain} stays with its owner {name}"
                        + (f" until {held:%Y-%m-%d}" if held else ""),
                        {**data, "owner_rep_id": account.owner_rep_id,
                         "owner_until": held.isoformat() if held else None}, at=now)


def link_sibling(session: Session, lead: Lead, plan: RoutingPlan | None, now: datetime) -> None:
    """Link the lead to the sibling it waits behind (plan.linked_to), once, with a timeline entry."""
    if plan is None or plan.linked_to is None or lead.linked_to_id == plan.linked_to:
        return
    lead.linked_to_id = plan.linked_to
    owner = session.get(Rep, plan.account_owner) if plan.account_owner is not None else None
    account = session.get(Account, lead.account_id) if lead.account_id else None
    domain = account.domain if account else "of this lead"
    who = f"only to {owner.name}" if owner else "to nobody else"
    if owner and owner.id not in plan.kept:
        who += " (who cannot take it now)"
    timeline.record(session, lead.id, "account.linked",
                    f"Linked to lead #{plan.linked_to}: account {domain} is being worked there; offered {who}",
                    {"linked_to": plan.linked_to, "account_id": lead.account_id,
                     "rep_id": owner.id if owner else None}, at=now)
