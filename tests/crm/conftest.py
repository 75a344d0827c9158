"""CRM fixtures: one sandbox server per session (reset per test) and adapters on the real SDKs pointed at it."""
from __future__ import annotations

import pytest

from connector.crm.base import RetryPolicy
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.salesforce import SalesforceAdapter
from connector.crm.sandbox import Sandbox


class Sleeps(list):
    """A stand-in for time.sleep that records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="session")
def sandbox_server():
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server):
    sandbox_server.reset()
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
def salesforce(crm_env, sleeps):
    return SalesforceAdapter.from_env(crm_env, retry=RetryPolicy(sleep=sleeps))
