"""What a Salesforce org's Lead object lacks for Leadwire, read from its describe (pure: no calls here), and
how to add each missing custom field by hand in Setup, naming its type and length."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# the custom fields a Leadwire install creates (mappings/crm_salesforce_lead.yaml; docs/crm-setup.md), in the
# terms of Setup's New Custom Field wizard
FIELD_TYPES: dict[str, str] = {
    "Leadwire_Id__c": "Text, length 64, External ID, Unique",
    "Leadwire_Score__c": "Number, length 3, 0 decimal places",
    "Leadwire_MQL_Level__c": "Number, length 1, 0 decimal places",
    "Leadwire_Team__c": "Text, length 80", "Leadwire_Status__c": "Text, length 40",
    "Leadwire_Nurture_Stream__c": "Text, length 80", "Leadwire_Result__c": "Text, length 40",
    "Leadwire_Lost_Reason__c": "Text, length 255", "Leadwire_Won_Amount__c": "Currency, length 16, 2 decimal places",
    "Leadwire_Contacted__c": "Checkbox, default unchecked", "Leadwire_Last_Action__c": "Text, length 255",
    "Leadwire_Last_Action_Date__c": "Date/Time", "Leadwire_Close_Date__c": "Date",
    "Product_Interest__c": "Text, length 255",
}
NEW_FIELD = ("Setup > Object Manager > Lead > Fields & Relationships > New: {kind}; Field Name {api}; Next; give the "
             "integration user's profile or permission set Visible and Editable access; Save")


def how_to_create(name: str, external_id_field: str) -> str:
    """Step-by-step Setup instructions for one missing Lead field (standard fields cannot be created)."""
    if not name.endswith("__c"):
        return (f"{name} is not a Lead field and cannot be created (standard fields are Salesforce's own): "
                "correct the write-back mapping")
    kind = FIELD_TYPES.get(name) or ("Text, length 64, External ID, Unique" if name == external_id_field
                                     else "the type of the Leadwire value it holds (Text, length 255 for text)")
    return NEW_FIELD.format(kind=kind, api=name.removesuffix("__c"))


def problems(described: Mapping[str, Any] | None, fields: Iterable[str], external_id_field: str,
             values: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """One message per field that is missing, read-only, lacks a picklist value Leadwire writes (`values`:
    field -> values), or, for the upsert key, is no External ID; [] when the org is ready."""
    known = {f["name"]: f for f in (described or {}).get("fields", [])}
    found: list[str] = []
    for name in dict.fromkeys(fields):
        meta = known.get(name)
        if meta is None:
            found.append(f"Lead.{name} does not exist. " + how_to_create(name, external_id_field))
            continue
        if not meta.get("updateable"):
            found.append(f"Lead.{name} is read-only for the integration user: give it edit access "
                         "(field-level security) or remove it from the write-back mapping")
        if name == external_id_field and not meta.get("externalId"):
            found.append(f"Lead.{name} is not an External ID: edit the field and tick External ID and Unique")
        if meta.get("type") == "picklist":
            have = {p.get("value") for p in meta.get("picklistValues") or [] if p.get("active", True)}
            absent = sorted({v for v in (values or {}).get(name, ()) if v} - have)
            if absent:
                found.append(f"Lead.{name} lacks the picklist value(s) {', '.join(map(repr, absent))} that Leadwire "
                             f"writes: Setup > Object Manager > Lead > Fields & Relationships > {name} > Values > New")
    return found
