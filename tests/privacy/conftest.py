"""The CRM sandbox fixtures of tests/crm, for the CRM side of an erasure (test modules here that build their
own runtime override `runtime` as usual)."""
from tests.crm.conftest import (  # noqa: F401
    crm_env,
    hubspot,
    make_leads,
    runtime,
    salesforce,
    sandbox,
    sandbox_server,
    sleeps,
    synced,
)
