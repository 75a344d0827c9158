"""CRM fixtures: one sandbox server per session (reset per test) and adapters on the real SDKs pointed at it.

The deployment's CRM secrets, the test write-back mappings and Sleeps are in tests/support/crm.py."""
from __future__ import annotations

import pytest

from connector.crm.base import RetryPolicy
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.salesforce import SalesforceAdapter
from connector.demo.sandbox import Sandbox
from connector.store.models import Lead, Rep
from tests.support.crm import HUBSPOT_SECRET, ORG_ID, OUTBOUND_KEY, PUBLIC_URL, PURSUIT, Sleeps, with_test_mappings


@pytest.fixture(scope="session")
def sandbox_server():
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server):
    sandbox_server.reset()
    sandbox_server.state.clock = None
    return sandbox_server


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def crm_env(sandbox):
    return {"HUBSPOT_ACCESS_TOKEN": "pat-sandbox", "HUBSPOT_API_BASE": sandbox.base_url,
            "SALESFORCE_INSTANCE_URL": sandbox.tls_url, "SALESFORCE_ACCESS_TOKEN": "00Dsandbox!token",
            "SALESFORCE_CA_BUNDLE": sandbox.ca_file}


@pytest.fixture
def hubspot(crm_env, sleeps):
    return HubSpotAdapter.from_env(crm_env, retry=RetryPolicy(sleep=sleeps))


@pytest.fixture
def salesforce(crm_env, sleeps, clock):
    """On the test clock: a REQUEST_LIMIT_EXCEEDED block ends when the clock is advanced past it."""
    return SalesforceAdapter.from_env(crm_env, retry=RetryPolicy(sleep=sleeps), now=lambda: clock.now().timestamp())


# ---- a Leadwire runtime wired to the sandbox ----------------------------------------------------------

@pytest.fixture
def runtime(make_runtime, sqlite_url, sandbox, crm_env, hubspot, salesforce, clock):
    """A runtime (SQLite, inline jobs, fake clock) whose CRMs are the sandbox, through the real SDKs."""
    sandbox.state.clock = clock
    sandbox.state.picklists["Lead.Status"].update(PURSUIT)
    sandbox.state.picklists["hs_lead_status"].update(PURSUIT)
    rt = make_runtime(sqlite_url, **crm_env, HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET, LEADWIRE_PUBLIC_URL=PUBLIC_URL,
                      SALESFORCE_ORG_ID=ORG_ID, SALESFORCE_OUTBOUND_KEY=OUTBOUND_KEY)
    rt.spec = with_test_mappings(rt.spec)
    rt.extras["crm"] = {"hubspot": hubspot, "salesforce": salesforce}
    yield rt
    sandbox.state.clock = None


@pytest.fixture
def make_leads(runtime, clock):
    """Create n routed leads in the 'qualified' flow; returns their ids."""
    def make(n: int, **fields) -> list[int]:
        with runtime.db.session() as s:
            leads = [Lead(source="api", flow="qualified", outcome="routed", status="accepted",
                          email=f"lead{i}@example.com", first_name="Pat", last_name=f"Lead{i}", company="Acme",
                          score=50, mql_level=2, captured_at=clock.now(), updated_at=clock.now(), **fields)
                     for i in range(n)]
            s.add_all(leads)
            s.flush()
            return [lead.id for lead in leads]
    return make


@pytest.fixture
def rep(runtime, sandbox, clock):
    """A rep known to both CRMs (owner ids filled)."""
    owner = sandbox.state.add_owner("rita@example.com", "Rita", "Rep")
    user = sandbox.state.add_user("rita@example.com", "Rita Rep")
    with runtime.db.session() as s:
        r = Rep(email="rita@example.com", name="Rita Rep", created_at=clock.now(),
                hubspot_owner_id=owner["id"], salesforce_user_id=user["Id"])
        s.add(r)
        s.flush()
        return r.id


@pytest.fixture
def synced(runtime, make_leads):
    """A lead written to one CRM through the outbox: returns (lead id, CRM record id)."""
    from connector.store import writeback
    from connector.sync import drain

    def make(crm: str, **fields) -> tuple[int, str]:
        (lead_id,) = make_leads(1, **fields)
        with runtime.db.session() as s:
            writeback.enqueue_lead_write(s, runtime, s.get(Lead, lead_id), crms=(crm,))
        drain.drain(runtime, crm)
        with runtime.db.session() as s:
            return lead_id, getattr(s.get(Lead, lead_id), f"{crm}_id")
    return make
