"""SqlMatchIndex finds stored leads and accounts through the table indexes, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import event

from connector.flows import AccountRef, Context, decide, load_spec, map_payload
from connector.store.match_index import SqlMatchIndex
from connector.store.models import Account, Lead
from tests.flows.helpers import NOW

SPEC = load_spec("flows.yaml", env={})
ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.com", "phone": "+1 415 555 0132",
       "company": "Acme Inc", "country": "US", "role": "CEO", "employees": "5000", "form": "demo_request"}


def _store(session, payload: dict, **extra) -> Lead:
    fields = map_payload(SPEC, "website", payload)
    lead = Lead(source="website", captured_at=NOW, updated_at=NOW, **extra,
                **{k: v for k, v in fields.items() if k in Lead.__table__.columns and k != "source"})
    session.add(lead)
    session.flush()
    return lead


def test_lookups_return_stored_leads_and_accounts(db):
    with db.session() as s:
        account = Account(domain="acme.com", name="Acme", created_at=NOW)
        s.add(account)
        s.flush()
        ada = _store(s, ADA, account_id=account.id)
        _store(s, {**ADA, "email": "bob@acme.com", "phone": "+1 212 555 0100", "first_name": "Bob"})
        merged = _store(s, {**ADA, "email": "old@acme.com", "phone": "+1 212 555 0199"}, duplicate_of_id=ada.id)
    with db.session() as s:
        index = SqlMatchIndex(s)
        [hit] = index.by_email("ada@acme.com")
        assert (hit.id, hit.first_name, hit.company, hit.account_id) == (ada.id, "Ada", "Acme Inc", account.id)
        assert [r.id for r in index.by_phone("+14155550132")] == [ada.id]
        assert {r.first_name for r in index.by_company_key("acme", 10)} == {"Ada", "Bob"}
        assert index.by_email("old@acme.com") == []  # merged away: the survivor stands for it
        assert merged.id not in {r.id for r in index.by_company_key("acme", 10)}
        assert index.account("acme.com") == AccountRef(account.id, "acme.com", None)
        assert index.account("nowhere.com") is None and index.by_email("nobody@acme.com") == []


def test_engine_finds_duplicates_through_the_sql_index(db):
    with db.session() as s:
        first = _store(s, ADA)
    with db.session() as s:
        lead = map_payload(SPEC, "website", {**ADA, "email": "a.lovelace@acme.com", "phone": "+1 212 555 0142",
                                             "company": "ACME Corporation", "last_name": "Lovelace"})
        decision = decide(SPEC, lead, Context(NOW, SqlMatchIndex(s), []))
    assert decision.outcome == "duplicate"
    assert (decision.duplicate.lead_id, decision.duplicate.rule) == (first.id, "name_company")


def _plans(db, calls) -> list[str]:
    """Run each call, capture its SQL, and return the database's query plan for it."""
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with db.session() as s:
            index = SqlMatchIndex(s)
            for call in calls:
                call(index)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    plans = []
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: ask whether an index can serve it
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        for statement, parameters in captured:
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            plans.append(" ".join(str(r[-1]) for r in rows))
    return plans


def test_every_lookup_is_an_index_seek_not_a_scan(db):
    with db.session() as s:
        _store(s, ADA)
        s.add(Account(domain="acme.com", created_at=NOW))
    plans = _plans(db, [lambda i: i.by_email("ada@acme.com"), lambda i: i.by_phone("+14155550132"),
                        lambda i: i.by_company_key("acme", 50), lambda i: i.account("acme.com")])
    expected = [("ix_leads_email",), ("ix_leads_phone",), ("ix_leads_company_key",),
                ("uq_accounts_domain", "sqlite_autoindex_accounts"),  # SQLite names its UNIQUE index itself
                ("ix_leads_account_id",)]                              # the account's leads being worked
    assert len(plans) == 5
    for plan, names in zip(plans, expected):
        assert any(name in plan for name in names), plan
        assert "SCAN leads" not in plan and "Seq Scan" not in plan, plan
