"""Demo stage: leads and RevOps after the first round — a newsletter subscriber comes back for a demo,
colleagues of customers a rep already works write in, and RevOps reopens a lost lead.

Everything goes over the real HTTP surface (signed form posts, the API with its key); reps answer the
new offers as in the offer stage. Returns the lifecycle figures of the summary.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy import func, select

from connector.core.clock import FakeClock
from connector.core.runtime import Runtime
from connector.demo.mailbox import Mailbox
from connector.demo.offer_players import play_offers
from connector.store.models import Account, Lead, Offer, TimelineEvent
from connector.store.statuses import LeadStatus

# Decision makers at large finance firms: the newsletter alone leaves them in nurture, a demo request routes.
RETURNING = (("Ann", "Lee", "CTO", "Lakeside Bank", "lakeside-bank.com", "US", "CA", "94105"),
             ("Omar", "Haddad", "CFO", "Harbor Trust", "harbor-trust.com", "US", "NY", "10004"),
             ("Ines", "Costa", "CEO", "Tagus Capital", "tagus-capital.pt", "PT", None, "1100"))


def _form(person: tuple[str, str, str, str, str, str, str | None, str], form: str) -> bytes:
    first, last, title, company, domain, country, state, postal = person
    body = {"first_name": first, "last_name": last, "email": f"{first.lower()}.{last.lower()}@{domain}",
            "company": company, "website": f"https://www.{domain}/", "job_title": title, "role": title,
            "country": country, "zip": postal, "employees": "5000", "industry": "Finance", "form": form,
            "phone": f"+1 415 555 01{len(first):02d}" if country == "US" else "+351 21 000 0199",
            "product_interest": "Insight Analytics", "utm_campaign": "newsletter" if form == "newsletter" else "demo"}
    if state:
        body["state"] = state
    return json.dumps(body).encode()


def _colleague(account: Account, n: int) -> bytes:
    """A second person at an account a rep owns."""
    return json.dumps({"first_name": f"Sam{n}", "last_name": "Colleague", "email": f"sam{n}.colleague@{account.domain}",
                       "company": account.name or account.domain, "website": f"https://www.{account.domain}/",
                       "job_title": "Director of Data", "role": "Director", "employees": "1200",
                       "industry": "Software", "form": "contact_sales", "phone": f"+1 415 555 02{n:02d}",
                       "country": "United States", "state": "CA", "zip": "94105",
                       "product_interest": "Insight Analytics"}).encode()


def _again(lead: Lead) -> bytes:
    """The same person (by e-mail) registering for a webinar."""
    return json.dumps({"email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name,
                       "company": lead.company, "phone": lead.phone, "form": "webinar",
                       "events": [{"type": "webinar_attended"}]}).encode()


def play_lifecycle(rt: Runtime, clock: FakeClock, mailbox: Mailbox, base: str,
                   post: Callable[[bytes], requests.Response], wait: Callable[[], None]) -> dict[str, Any]:
    """Returning subscribers, colleagues at owned accounts, a reopened lead; then the reps answer."""
    for person in RETURNING:
        _ok(post(_form(person, "newsletter")))
    wait()
    clock.advance(days=7)
    for person in RETURNING:
        _ok(post(_form(person, "demo_request")))
    wait()
    with rt.db.session() as s:
        owned = s.scalars(select(Account).where(Account.owner_rep_id.is_not(None), Account.owner_until > clock.now())
                          .order_by(Account.id).limit(3)).all()
        working = s.scalars(select(Lead).where(Lead.status == LeadStatus.ACCEPTED).order_by(Lead.id).limit(2)).all()
    for n, account in enumerate(owned):
        _ok(post(_colleague(account, n)))
    for lead in working:  # a customer in pursuit comes back to the site: their rep hears of it
        _ok(post(_again(lead)))
    wait()
    reopened = _reopen_lost(rt, base)
    wait()
    played = play_offers(rt, clock, mailbox)
    with rt.db.session() as s:
        leads = s.scalar(select(func.count()).select_from(Lead)) or 0
    return {**_figures(rt), "reopened": reopened, "offers_at_end": played["offers"],
            "accepted_at_end": played["accepted"], "leads_at_end": leads}


def _ok(resp: requests.Response) -> None:
    if resp.status_code != 202:
        raise RuntimeError(f"demo post answered {resp.status_code}: {resp.text[:200]}")


def _reopen_lost(rt: Runtime, base: str) -> int:
    """RevOps reopens closed or lost leads into routing ("they came back"), through the API."""
    with rt.db.session() as s:
        lost = s.scalars(select(Lead.id).where(Lead.status.in_((LeadStatus.CLOSED, LeadStatus.LOST)))
                         .order_by(Lead.id).limit(2)).all()
    headers = {"Authorization": f"Bearer {rt.settings.api_key}"}
    done = 0
    with requests.Session() as http:
        for lead_id in lost:
            resp = http.post(f"{base}/api/leads/{lead_id}/reopen", json={"to": "routing", "by": "revops@demo"},
                             headers=headers, timeout=30)
            if resp.status_code != 200:
                raise RuntimeError(f"reopen of lead {lead_id} answered {resp.status_code}: {resp.text[:200]}")
            done += 1
    return done


def _figures(rt: Runtime) -> dict[str, int]:
    """promoted, held_outside_hours and account_owner_offers over the whole demo database."""
    with rt.db.session() as s:
        wanted = ("promoted", "held", "owner_told", "demoted")
        kinds = dict(s.execute(select(TimelineEvent.kind, func.count()).where(TimelineEvent.kind.in_(wanted))
                               .group_by(TimelineEvent.kind)).tuples().all())
        # offers the account rule sent to the account's owner first (the decision's plan names that rep)
        owners = {(e.lead_id, ((e.data or {}).get("plan") or {}).get("account_owner"))
                  for e in s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "decision"))}
        offered = set(s.execute(select(Offer.lead_id, Offer.rep_id)).tuples().all())
        owner_offers = len({pair for pair in owners if pair[1] is not None} & offered)
    return {"promoted": kinds.get("promoted", 0), "held_outside_hours": kinds.get("held", 0),
            "owner_told": kinds.get("owner_told", 0), "demoted": kinds.get("demoted", 0),
            "account_owner_offers": owner_offers}

