"""SqlMatchIndex: the engine's MatchIndex over the leads and accounts tables, through their indexes."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from connector.core.clock import as_utc
from connector.flows.matching import AccountRef, LeadRef, WorkedLead
from connector.store.models import Account, Lead
from connector.store.statuses import LeadStatus

MAX_WORKED = 2  # a lead decided again may be one of them; the engine leaves it out
MAX_EXACT = 20  # an e-mail or phone shared by more leads than this adds nothing to matching

_COLUMNS = (Lead.id, Lead.first_name, Lead.last_name, Lead.company, Lead.email, Lead.phone, Lead.owner_rep_id,
            Lead.account_id)


class SqlMatchIndex:
    """Look-ups by equality on indexed columns (leads.email, leads.phone, leads.company_key,
    accounts.domain): each is an index seek, so matching stays fast with millions of leads stored.
    Leads merged into another (duplicate_of_id set) are not returned: the survivor stands for them."""

    def __init__(self, session: Session):
        self.session = session

    def _leads(self, column: InstrumentedAttribute[str | None], value: str, limit: int) -> list[LeadRef]:
        rows = self.session.execute(
            select(*_COLUMNS).where(column == value, Lead.duplicate_of_id.is_(None)).order_by(Lead.id).limit(limit))
        return [LeadRef(*row) for row in rows]

    def by_email(self, email: str) -> list[LeadRef]:
        return self._leads(Lead.email, email, MAX_EXACT)

    def by_phone(self, phone: str) -> list[LeadRef]:
        return self._leads(Lead.phone, phone, MAX_EXACT)

    def by_company_key(self, company_key: str, limit: int) -> list[LeadRef]:
        rows = self.session.execute(
            select(*_COLUMNS).where(Lead.company_key == company_key, Lead.duplicate_of_id.is_(None))
            .order_by(Lead.id.desc()).limit(limit))
        return [LeadRef(*row) for row in rows]

    def account(self, domain: str) -> AccountRef | None:
        """The account by its unique domain, with its owner, owner_until and the leads of it being worked
        (accepted, not closed; newest accept first) through leads.account_id."""
        row = self.session.execute(select(Account.id, Account.domain, Account.owner_rep_id, Account.owner_until)
                                   .where(Account.domain == domain)).first()
        if row is None:
            return None
        # through ix_leads_account_id: the status is compared as an expression (status || '') so that a
        # planner without statistics (SQLite) never prefers ix_leads_status, which holds every accepted lead
        worked = self.session.execute(
            select(Lead.id, Lead.owner_rep_id)
            .where(Lead.account_id == row.id, Lead.status.concat("") == LeadStatus.ACCEPTED.value,
                   Lead.closed_at.is_(None))
            .order_by(Lead.accepted_at.desc(), Lead.id.desc()).limit(MAX_WORKED))
        return AccountRef(row.id, row.domain, row.owner_rep_id, as_utc(row.owner_until),
                          tuple(WorkedLead(lead_id, rep_id) for lead_id, rep_id in worked))
