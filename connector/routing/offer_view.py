"""What a rep sees of an offer: the lead preview the flow allows, time left, and the offer's state."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from connector.core.errors import NotFound, TokenError
from connector.core.runtime import Runtime
from connector.core.tokens import Tokens
from connector.store.models import Lead, Offer, Rep
from connector.store.statuses import OfferStatus

STALE: dict[str, str] = {  # the message of a link to an offer no longer open, by offer status
    OfferStatus.LOST: "This lead has gone to someone else: another rep accepted it first.",
    OfferStatus.EXPIRED: "This offer has expired: the lead has moved on to another rep.",
    OfferStatus.DECLINED: "You declined this lead. Thank you for answering quickly.",
    OfferStatus.WITHDRAWN: "This offer was withdrawn.",
}


def summary(lead: Lead) -> str:
    """One line naming the lead without contact details: company, place, product."""
    place = ", ".join(x for x in (lead.city, lead.region or lead.country) if x)
    parts = [lead.company or "A new lead"]
    if place:
        parts.append(f"in {place}")
    if lead.product:
        parts.append(f"for {lead.product}")
    return " ".join(parts)


def preview_lines(lead: Lead, *, contact: bool) -> list[str]:
    """The lead preview; name, e-mail, phone and street only when `contact` is True."""
    lines: list[str] = []
    if contact:
        name = " ".join(x for x in (lead.first_name, lead.last_name) if x)
        lines += [f"Name: {name}" if name else "", f"E-mail: {lead.email}" if lead.email else "",
                  f"Phone: {lead.phone}" if lead.phone else "", f"Street: {lead.street}" if lead.street else ""]
    lines += [f"Title: {lead.title}" if lead.title else "", f"Company: {lead.company}" if lead.company else "",
              f"Location: {', '.join(x for x in (lead.postal_code, lead.city, lead.region, lead.country) if x)}"
              if (lead.city or lead.country) else "",
              f"Product: {lead.product}" if lead.product else "",
              f"Need: {lead.need}" if lead.need else "", f"Timing: {lead.timing}" if lead.timing else "",
              f"Budget: {lead.budget}" if lead.budget else "",
              f"Score: {lead.score} (MQL {lead.mql_level})" if lead.score is not None else ""]
    return [line for line in lines if line]


@dataclass
class OfferPage:
    """state: open | accepted | lost | expired | declined | withdrawn | invalid."""

    state: str
    message: str = ""
    offer_id: int | None = None
    rep_name: str = ""
    lead_summary: str = ""
    lines: list[str] = field(default_factory=list)
    seconds_left: int = 0
    exclusive: bool = True
    contact_hidden: bool = False


def offer_id(rt: Runtime, token: str, now: datetime) -> int:
    """The offer a token names; TokenError when tampered with, foreign or expired."""
    return Tokens(rt.settings.secret_key).read(token, "offer", now=now)[0]


def load(session: Session, rt: Runtime, token: str, now: datetime) -> OfferPage:
    """The page for `token`, telling a stale link apart: taken by someone else, expired, answered."""
    tokens = Tokens(rt.settings.secret_key)
    try:
        oid = tokens.read(token, "offer", now=now)[0]
    except TokenError as exc:
        if "expired" not in str(exc):
            return OfferPage("invalid", "This link is not valid: it was changed or cut short.")
        oid = tokens.read(token, "offer", now=datetime.fromtimestamp(0, now.tzinfo))[0]
    offer = session.get(Offer, oid)
    if offer is None:
        return OfferPage("invalid", "This offer no longer exists.")
    lead, rep = session.get(Lead, offer.lead_id), session.get(Rep, offer.rep_id)
    if lead is None or rep is None:  # foreign keys keep both while the offer exists
        raise NotFound(f"offer {offer.id} names no lead {offer.lead_id} or no rep {offer.rep_id}")
    hide = bool((lead.offer_plan or {}).get("hide_contact_until_accepted", True))
    page = OfferPage("open", offer_id=offer.id, rep_name=rep.name, lead_summary=summary(lead),
                     exclusive=offer.mode == "exclusive")
    if offer.status == OfferStatus.ACCEPTED:
        page.state, page.message = "accepted", "You accepted this lead. It is yours — contact them now."
        page.lines = preview_lines(lead, contact=True)
        return page
    if offer.status == OfferStatus.PENDING and offer.expires_at <= now:
        page.state, page.message = "expired", STALE[OfferStatus.EXPIRED]
    elif offer.status != OfferStatus.PENDING:
        page.state, page.message = offer.status, STALE.get(offer.status, "This offer is closed.")
    else:
        page.seconds_left = int((offer.expires_at - now).total_seconds())
        page.contact_hidden = hide
        page.lines = preview_lines(lead, contact=not hide)
    return page
