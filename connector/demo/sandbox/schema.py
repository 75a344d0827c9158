"""The sandbox org's schema: the HubSpot contact properties and Salesforce Lead fields it has. Strict, like
the vendors: an API write naming a property or field the org does not have is refused, whole.

- HubSpot answers 400 VALIDATION_ERROR, "Property values were not valid", one PROPERTY_DOESNT_EXIST per
  unknown property (https://developers.hubspot.com/docs/api/crm/properties: a property must be created
  in the portal before records can carry it; https://developers.hubspot.com/docs/api/crm/contacts).
- Salesforce answers 400 INVALID_FIELD, "No such column '<name>' on sobject of type Lead"
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm; custom
  fields end in __c: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm).

Besides each vendor's standard fields, the org has the custom properties / fields a Leadwire install
creates (the targets of mappings/crm_*.yaml). Tests may add others to SandboxState.schema.
"""
from __future__ import annotations

HUBSPOT_STANDARD = frozenset({
    "email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "website", "address", "city",
    "state", "zip", "country", "industry", "numemployees", "annualrevenue", "message", "lifecyclestage",
    "hs_lead_status", "hubspot_owner_id", "hs_object_id", "createdate", "lastmodifieddate", "hs_analytics_source",
})
HUBSPOT_LEADWIRE = frozenset({
    "leadwire_score", "leadwire_mql_level", "leadwire_outcome", "leadwire_status", "leadwire_nurture_stream",
    "leadwire_result", "leadwire_lost_reason", "leadwire_last_action", "leadwire_last_action_date",
    "leadwire_won_amount",
})
SALESFORCE_STANDARD = frozenset({
    "Id", "Salutation", "FirstName", "LastName", "Name", "Title", "Company", "Street", "City", "State", "PostalCode",
    "Country", "Latitude", "Longitude", "Phone", "MobilePhone", "Email", "Website", "Description", "LeadSource",
    "Status", "Industry", "Rating", "AnnualRevenue", "NumberOfEmployees", "OwnerId", "IsConverted", "CreatedDate",
    "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
})
SALESFORCE_LEADWIRE = frozenset({
    "Leadwire_Id__c", "Leadwire_Score__c", "Leadwire_MQL_Level__c", "Leadwire_Team__c", "Leadwire_Status__c",
    "Leadwire_Nurture_Stream__c", "Leadwire_Result__c", "Leadwire_Lost_Reason__c", "Leadwire_Won_Amount__c",
    "Leadwire_Contacted__c", "Leadwire_Last_Action__c", "Leadwire_Last_Action_Date__c", "Leadwire_Close_Date__c",
    "Product_Interest__c",
})


def default_schema() -> dict[str, set[str]]:
    """A new org's schema: {"hubspot": contact properties, "salesforce": Lead fields}."""
    return {"hubspot": set(HUBSPOT_STANDARD | HUBSPOT_LEADWIRE),
            "salesforce": set(SALESFORCE_STANDARD | SALESFORCE_LEADWIRE)}


def hubspot_unknown(schema: dict[str, set[str]], props: dict) -> list[str]:
    """HubSpot's PROPERTY_DOESNT_EXIST items (JSON text, as HubSpot nests them) for unknown properties."""
    return [f'{{"isValid":false,"message":"Property \\"{name}\\" does not exist","error":"PROPERTY_DOESNT_EXIST",'
            f'"name":"{name}"}}' for name in sorted(props) if name not in schema["hubspot"]]


def salesforce_unknown(schema: dict[str, set[str]], fields: dict) -> str | None:
    """The first field the Lead object does not have (Salesforce reports one), or None; `attributes` (the
    record's type) and a collection record's `id` are not fields."""
    return next((name for name in fields if name not in schema["salesforce"] and name not in ("attributes", "id")),
                None)
