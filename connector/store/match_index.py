"""SqlMatchIndex: the engine's MatchIndex over the leads and accounts tables, through their indexes."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from connector.flows.matching import AccountRef, LeadRef
from connector.store.models import Account, Lead

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
        row = self.session.execute(
            select(Account.id, Account.domain, Account.owner_rep_id).where(Account.domain == domain)).first()
        return AccountRef(*row) if row else None
