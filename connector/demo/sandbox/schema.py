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

from connector.crm.hubspot_schema import GROUP, LEADWIRE_PROPERTIES

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


# -- HubSpot's typed contact properties ---------------------------------------------------------------
# A property as GET /crm/v3/properties/contacts returns it: name, label, type, fieldType, groupName, options
# (https://developers.hubspot.com/docs/api/crm/properties: type and fieldType pairs, options for enumerations).
# String values are capped at 65,536 characters ("Property values" limits,
# https://developers.hubspot.com/docs/api/crm/properties#property-type-and-fieldtype-values).
HUBSPOT_STRING_MAX = 65536
HUBSPOT_GROUPS = ("contactinformation", "leadwire")
LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
                    "evangelist", "other")


def hubspot_property(name: str, type_: str = "string", field_type: str = "text", options: tuple[str, ...] = (),
                     group: str = "contactinformation") -> dict:
    """One property definition as HubSpot's properties API returns it."""
    return {"name": name, "label": name.replace("_", " ").title(), "type": type_, "fieldType": field_type,
            "groupName": group, "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False}
                                            for i, o in enumerate(options)],
            "hidden": False, "formField": True, "calculated": False, "externalOptions": False,
            "modificationMetadata": {"archivable": group == "leadwire", "readOnlyDefinition": group != "leadwire",
                                     "readOnlyValue": name in ("hs_object_id", "lastmodifieddate")}}


def default_hubspot_properties() -> dict[str, dict]:
    """A new portal's contact properties, typed: HubSpot's standard ones plus the leadwire_* properties a
    Leadwire install creates (their table lives with the adapter, connector/crm/hubspot_schema.py)."""
    props: dict[str, dict] = {}
    for name in sorted(HUBSPOT_STANDARD):
        if name == "hs_object_id":
            props[name] = hubspot_property(name, "number", "number")
        elif name in ("createdate", "lastmodifieddate"):
            props[name] = hubspot_property(name, "datetime", "date")
        elif name == "lifecyclestage":
            props[name] = hubspot_property(name, "enumeration", "radio", LIFECYCLE_STAGES)
        elif name in ("hs_lead_status", "hubspot_owner_id"):
            # options are live: the org's picklist for hs_lead_status, the owners for hubspot_owner_id
            props[name] = hubspot_property(name, "enumeration", "select")
        else:
            props[name] = hubspot_property(name)
    props["hs_merged_object_ids"] = hubspot_property("hs_merged_object_ids", "enumeration", "checkbox")
    for p in LEADWIRE_PROPERTIES.values():
        props[p.name] = {**hubspot_property(p.name, p.type, p.field_type, p.options, group=GROUP), "label": p.label}
    return props


# -- Salesforce describe: each Lead field's type, length and flags ---------------------------------------------
# The shape of GET /services/data/vXX.X/sobjects/Lead/describe (DescribeSObjectResult.fields: name, label, type,
# length, updateable, createable, externalId, unique, idLookup, nillable, picklistValues, restrictedPicklist;
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm and
# https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm).
# Standard lengths as the Lead object reference gives them
# (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm).
_READ_ONLY = {"updateable": False, "createable": False}
SALESFORCE_FIELD_META: dict[str, dict] = {
    "Id": {"type": "id", "length": 18, **_READ_ONLY, "idLookup": True},
    "Salutation": {"type": "picklist", "length": 40}, "FirstName": {"type": "string", "length": 40},
    "LastName": {"type": "string", "length": 80}, "Name": {"type": "string", "length": 121, **_READ_ONLY},
    "Title": {"type": "string", "length": 128}, "Company": {"type": "string", "length": 255},
    "Street": {"type": "textarea", "length": 255}, "City": {"type": "string", "length": 40},
    "State": {"type": "string", "length": 80}, "PostalCode": {"type": "string", "length": 20},
    "Country": {"type": "string", "length": 80}, "Latitude": {"type": "double"}, "Longitude": {"type": "double"},
    "Phone": {"type": "phone", "length": 40}, "MobilePhone": {"type": "phone", "length": 40},
    "Email": {"type": "email", "length": 80, "idLookup": True}, "Website": {"type": "url", "length": 255},
    "Description": {"type": "textarea", "length": 32000}, "LeadSource": {"type": "picklist", "length": 255},
    "Status": {"type": "picklist", "length": 255, "restrictedPicklist": True, "picklist": "Lead.Status"},
    "Industry": {"type": "picklist", "length": 255}, "Rating": {"type": "picklist", "length": 255},
    "AnnualRevenue": {"type": "currency"}, "NumberOfEmployees": {"type": "int"},
    "OwnerId": {"type": "reference", "length": 18}, "IsConverted": {"type": "boolean", **_READ_ONLY},
    "CreatedDate": {"type": "datetime", **_READ_ONLY}, "CreatedById": {"type": "reference", "length": 18, **_READ_ONLY},
    "LastModifiedDate": {"type": "datetime", **_READ_ONLY},
    "LastModifiedById": {"type": "reference", "length": 18, **_READ_ONLY},
    "SystemModstamp": {"type": "datetime", **_READ_ONLY},
    # the custom fields a Leadwire install creates (docs/crm-setup.md)
    "Leadwire_Id__c": {"type": "string", "length": 64, "externalId": True, "unique": True, "idLookup": True},
    "Leadwire_Score__c": {"type": "double"}, "Leadwire_MQL_Level__c": {"type": "double"},
    "Leadwire_Team__c": {"type": "string", "length": 80}, "Leadwire_Status__c": {"type": "string", "length": 40},
    "Leadwire_Nurture_Stream__c": {"type": "string", "length": 80},
    "Leadwire_Result__c": {"type": "string", "length": 40},
    "Leadwire_Lost_Reason__c": {"type": "string", "length": 255},
    "Leadwire_Won_Amount__c": {"type": "currency"}, "Leadwire_Contacted__c": {"type": "boolean"},
    "Leadwire_Last_Action__c": {"type": "string", "length": 255}, "Leadwire_Last_Action_Date__c": {"type": "datetime"},
    "Leadwire_Close_Date__c": {"type": "date"}, "Product_Interest__c": {"type": "string", "length": 255},
}
TEXT_TYPES = frozenset({"string", "textarea", "phone", "email", "url", "picklist"})


def default_salesforce_meta() -> dict[str, dict]:
    """A new org's Lead field metadata (a copy: tests and the Tooling API change it)."""
    return {name: dict(meta) for name, meta in SALESFORCE_FIELD_META.items()}


def describe_field(name: str, meta: dict, picklists: dict[str, set]) -> dict:
    """One entry of describe's `fields`: a field the schema has but the metadata does not is a Text(255)."""
    custom = name.endswith("__c")
    values = sorted(picklists.get(meta.get("picklist", ""), ()))
    return {
        "name": name, "label": name.removesuffix("__c").replace("_", " "), "type": meta.get("type", "string"),
        "length": meta.get("length", 255 if meta.get("type", "string") in TEXT_TYPES else 0),
        "custom": custom, "updateable": meta.get("updateable", True), "createable": meta.get("createable", True),
        "externalId": meta.get("externalId", False), "unique": meta.get("unique", False),
        "idLookup": meta.get("idLookup", False), "nillable": name not in ("LastName", "Company", "Id"),
        "restrictedPicklist": meta.get("restrictedPicklist", False),
        "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": False} for v in values],
    }
