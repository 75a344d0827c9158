"""Matching a lead against stored ones: duplicates (e-mail, phone, fuzzy name + company) and accounts.

Stored leads are reached only through a `MatchIndex` (exact look-ups on indexed keys, never a scan).
`InMemoryIndex` serves simulate, tests and the bench; `connector.store.match_index.SqlMatchIndex`
serves production with the same contract.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rapidfuzz import fuzz, utils

from connector.flows.model import DuplicateSpec
from connector.flows.normalize import FREE_MAIL, company_key

FUZZY_CANDIDATES = 50


@dataclass(frozen=True)
class LeadRef:
    """What matching needs to know about a stored lead."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    owner_rep_id: int | None = None
    account_id: int | None = None


@dataclass(frozen=True)
class WorkedLead:
    """A lead of an account that a rep is working now (status accepted, not closed)."""

    lead_id: int
    rep_id: int | None = None


@dataclass(frozen=True)
class AccountRef:
    """What matching needs to know about a stored account: its owner, until when the owner holds it
    (None: no end, e.g. an owner from the CRM), and its leads being worked (newest accept first, at most
    two, so that a lead decided again can leave itself out)."""

    id: int
    domain: str
    owner_rep_id: int | None = None
    owner_until: datetime | None = None
    worked: tuple[WorkedLead, ...] = ()


@dataclass(frozen=True)
class AccountMatch:
    """The account a lead belongs to by company domain; account_id None if no account exists yet.

    `worked_lead_id` / `worked_by` name another lead of the account a rep is working now (the lead being
    decided is never its own worked sibling)."""

    domain: str
    account_id: int | None = None
    owner_rep_id: int | None = None
    owner_until: datetime | None = None
    worked_lead_id: int | None = None
    worked_by: int | None = None

    def current_owner(self, now: datetime) -> int | None:
        """The owner while they hold the account (owner_until None or later than now), else None."""
        if self.owner_rep_id is None or (self.owner_until is not None and self.owner_until <= now):
            return None
        return self.owner_rep_id

    def as_dict(self) -> dict:
        out: dict = {"domain": self.domain, "account_id": self.account_id, "owner_rep_id": self.owner_rep_id}
        if self.owner_until is not None:
            out["owner_until"] = self.owner_until.isoformat()
        if self.worked_lead_id is not None:
            out.update(worked_lead_id=self.worked_lead_id, worked_by=self.worked_by)
        return out


@dataclass(frozen=True)
class DuplicateMatch:
    """The stored lead this one duplicates, the rule that found it, how alike they are, and what to do."""

    lead_id: int
    rule: str  # email | phone | name_company
    similarity: float  # 0–100
    action: str  # merge | link
    owner_rep_id: int | None = None

    def as_dict(self) -> dict:
        return {"lead_id": self.lead_id, "rule": self.rule, "similarity": self.similarity, "action": self.action,
                "owner_rep_id": self.owner_rep_id}


class MatchIndex(Protocol):
    """Look-ups by indexed keys; every method must be an index look-up, not a scan."""

    def by_email(self, email: str) -> list[LeadRef]: ...

    def by_phone(self, phone: str) -> list[LeadRef]: ...

    def by_company_key(self, company_key: str, limit: int) -> list[LeadRef]: ...

    def account(self, domain: str) -> AccountRef | None: ...


class InMemoryIndex:
    """A MatchIndex in dictionaries (O(1) look-ups); `add` a lead after deciding it to make it 'stored'."""

    def __init__(self) -> None:
        self._email: dict[str, list[LeadRef]] = {}
        self._phone: dict[str, list[LeadRef]] = {}
        self._company: dict[str, list[LeadRef]] = {}
        self._accounts: dict[str, AccountRef] = {}
        self._next_id = 1
        self._count = 0

    @property
    def stored(self) -> int:
        """How many leads were added."""
        return self._count

    def add(self, lead: dict, *, lead_id: int | None = None, owner_rep_id: int | None = None,
            account_id: int | None = None) -> LeadRef:
        """Store a mapped lead (canonical dict); returns its reference (ids are given in order if omitted)."""
        lead_id = lead_id if lead_id is not None else self._next_id
        self._next_id = max(self._next_id, lead_id + 1)
        self._count += 1
        ref = LeadRef(lead_id, lead.get("first_name"), lead.get("last_name"), lead.get("company"),
                      lead.get("email"), lead.get("phone"), owner_rep_id, account_id)
        indexes = ((self._email, ref.email), (self._phone, ref.phone), (self._company, lead.get("company_key")))
        for table, key in indexes:
            if key:
                table.setdefault(key, []).append(ref)
        return ref

    def add_account(self, account: AccountRef) -> None:
        self._accounts[account.domain] = account

    def by_email(self, email: str) -> list[LeadRef]:
        return list(self._email.get(email, ()))

    def by_phone(self, phone: str) -> list[LeadRef]:
        return list(self._phone.get(phone, ()))

    def by_company_key(self, company_key: str, limit: int) -> list[LeadRef]:
        return self._company.get(company_key, [])[-limit:]

    def account(self, domain: str) -> AccountRef | None:
        return self._accounts.get(domain)


def _full_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def find_duplicate(lead: dict, spec: DuplicateSpec, index: MatchIndex) -> DuplicateMatch | None:
    """The first rule (in the flow's order) that finds a stored lead; the oldest match wins for exact rules."""
    for rule in spec.rules:
        if rule == "email" and lead.get("email"):
            hits = index.by_email(lead["email"])
            if hits:
                ref = min(hits, key=lambda r: r.id)
                return DuplicateMatch(ref.id, "email", 100.0, spec.action, ref.owner_rep_id)
        elif rule == "phone" and lead.get("phone"):
            hits = index.by_phone(lead["phone"])
            if hits:
                ref = min(hits, key=lambda r: r.id)
                return DuplicateMatch(ref.id, "phone", 100.0, spec.action, ref.owner_rep_id)
        elif rule == "name_company":
            found = _fuzzy(lead, spec, index)
            if found:
                return found
    return None


def _fuzzy(lead: dict, spec: DuplicateSpec, index: MatchIndex) -> DuplicateMatch | None:
    """Candidates share the normalised company key (an indexed look-up); the company threshold then
    compares the normalised names of whatever the index returned, the name threshold the full names."""
    key, name = lead.get("company_key"), _full_name(lead.get("first_name"), lead.get("last_name"))
    if not key or not name:
        return None
    best: tuple[float, LeadRef] | None = None
    name_p = utils.default_process(name)
    company_p = key
    for ref in index.by_company_key(key, FUZZY_CANDIDATES):
        other = _full_name(ref.first_name, ref.last_name)
        if not other:
            continue
        name_score = fuzz.token_sort_ratio(name_p, utils.default_process(other), score_cutoff=spec.name_threshold)
        if not name_score:
            continue
        company_score = fuzz.token_set_ratio(company_p, company_key(ref.company or ""))
        if company_score < spec.company_threshold:
            continue
        if best is None or name_score > best[0]:
            best = (name_score, ref)
    if best is None:
        return None
    return DuplicateMatch(best[1].id, "name_company", round(best[0], 1), spec.action, best[1].owner_rep_id)


def match_account(lead: dict, index: MatchIndex, lead_id: int | None = None) -> AccountMatch | None:
    """The lead's account by company domain (stored or not yet); free-mail domains have none. `lead_id`:
    the stored lead being decided again, left out of the account's worked leads."""
    domain = lead.get("company_domain")
    if not domain or domain in FREE_MAIL:
        return None
    found = index.account(domain)
    if found is None:
        return AccountMatch(domain)
    worked = next((w for w in found.worked if w.lead_id != lead_id), None)
    return AccountMatch(domain, found.id, found.owner_rep_id, found.owner_until,
                        worked.lead_id if worked else None, worked.rep_id if worked else None)
