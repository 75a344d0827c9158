"""CRM helpers: the secrets and URLs the CRM test runtime is deployed with, test write-back mappings,
and a recording stand-in for time.sleep."""
from __future__ import annotations

import dataclasses

from connector.flows.model import CrmField, CrmMapping, CrmSpec, Spec

HUBSPOT_SECRET = "hs-client-secret"
ORG_ID = "00D000000000001AAA"
OUTBOUND_KEY = "om-key-0123456789"
PUBLIC_URL = "https://leads.example.com"
PURSUIT = ("contacted", "meeting_set", "demo_done", "proposal_sent", "negotiating")

SF_MAP = CrmMapping("test-crm-salesforce.yaml", "Lead", (
    CrmField("first_name", "FirstName", "newest_wins"), CrmField("last_name", "LastName", "newest_wins"),
    CrmField("company", "Company", "crm_wins"), CrmField("email", "Email", "crm_wins"),
    CrmField("score", "Leadwire_Score__c", "leadwire_wins"), CrmField("mql_level", "Leadwire_MQL_Level__c"),
    CrmField("owner.salesforce_user_id", "OwnerId", "crm_wins"),
    CrmField("feedback.pursuit_status", "Status", "newest_wins")))
HS_MAP = CrmMapping("test-crm-hubspot.yaml", "contact", (
    CrmField("first_name", "firstname", "newest_wins"), CrmField("last_name", "lastname", "newest_wins"),
    CrmField("company", "company", "crm_wins"), CrmField("score", "leadwire_score", "leadwire_wins"),
    CrmField("owner.hubspot_owner_id", "hubspot_owner_id", "crm_wins"),
    CrmField("feedback.pursuit_status", "hs_lead_status", "newest_wins")))


class Sleeps(list):
    """A stand-in for time.sleep that records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def with_test_mappings(spec: Spec) -> Spec:
    """The repo's flows with write-back mappings whose rules these tests name (owner: crm_wins)."""
    flows = tuple(dataclasses.replace(f, crm=CrmSpec(hubspot=HS_MAP, salesforce=SF_MAP)) for f in spec.flows)
    return dataclasses.replace(spec, flows=flows)
