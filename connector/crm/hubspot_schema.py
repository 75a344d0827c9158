"""The HubSpot contact properties Leadwire owns (one table), and what a portal's schema lacks of them.

Pure: no SDK, no I/O. The adapter reads the portal's properties through the properties API
(https://developers.hubspot.com/docs/api/crm/properties) and passes them here as plain dicts
({name, type, fieldType, options: [{value}]}), as the API returns them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.store.statuses import LeadStatus

GROUP = "leadwire"
GROUP_LABEL = "Leadwire"


@dataclass(frozen=True)
class PropertyDef:
    """One contact property as the properties API creates it; `options` only for enumerations."""

    name: str
    label: str
    type: str = "string"            # string | number | enumeration | date | datetime | bool
    field_type: str = "text"        # text | textarea | number | select | radio | checkbox | date
    options: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if (self.type == "enumeration") != bool(self.options):
            raise ValueError(f"property {self.name!r}: enumerations need options, other types take none")

    def as_create(self) -> dict[str, Any]:
        """The body of POST /crm/v3/properties/contacts for this property."""
        body: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.type,
                                "fieldType": self.field_type, "groupName": GROUP}
        if self.options:
            body["options"] = [{"label": o.replace("_", " ").title(), "value": o, "displayOrder": i, "hidden": False}
                               for i, o in enumerate(self.options)]
        return body


# Every leadwire_* property the write-back mappings (mappings/crm_hubspot_contact.yaml) may name.
LEADWIRE_PROPERTIES: dict[str, PropertyDef] = {p.name: p for p in (
    PropertyDef("leadwire_score", "Leadwire score", "number", "number"),
    PropertyDef("leadwire_mql_level", "Leadwire MQL level", "number", "number"),
    PropertyDef("leadwire_outcome", "Leadwire outcome"),
    PropertyDef("leadwire_status", "Leadwire status", "enumeration", "select", tuple(s.value for s in LeadStatus)),
    PropertyDef("leadwire_nurture_stream", "Leadwire nurture stream"),
    PropertyDef("leadwire_result", "Leadwire result"),
    PropertyDef("leadwire_lost_reason", "Leadwire lost reason"),
    PropertyDef("leadwire_last_action", "Leadwire last action"),
    PropertyDef("leadwire_last_action_date", "Leadwire last action date"),
    PropertyDef("leadwire_won_amount", "Leadwire won amount", "number", "number"),
    PropertyDef("leadwire_team", "Leadwire team"),
)}


def problems(fields: Iterable[str], portal: Mapping[str, Mapping[str, Any]],
             values: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """One message per field the portal lacks or has with the wrong type / options (and per value of `values`,
    property -> values Leadwire writes, that an enumeration property lacks), saying how to fix it."""
    out: list[str] = []
    for name, wanted in (values or {}).items():
        have = portal.get(name)
        if have is None or have.get("type") != "enumeration":
            continue
        options = {str(o.get("value")) for o in have.get("options") or []}
        if lacking := sorted({str(v) for v in wanted if v} - options):
            out.append(f"HubSpot contact property {name!r} lacks the options {', '.join(lacking)} that the flows' "
                       "feedback.crm_status writes: add them in HubSpot (Settings > Properties > Contact properties)")
    for name in dict.fromkeys(fields):
        have, want = portal.get(name), LEADWIRE_PROPERTIES.get(name)
        if have is None and want is not None:
            out.append(f"HubSpot contact property {name!r} is missing: run `leadwire crm setup` to create it "
                       f"({want.type}, group {GROUP!r})")
        elif have is None:
            out.append(f"HubSpot contact property {name!r} is missing and is not one Leadwire creates: create it in "
                       "HubSpot (Settings > Properties > Contact properties) or change the mapping that names it")
        elif want is not None and have.get("type") != want.type:
            out.append(f"HubSpot contact property {name!r} has type {have.get('type')!r}, Leadwire writes "
                       f"{want.type!r}: change its type in HubSpot, or delete it and run `leadwire crm setup`")
        elif want is not None and want.options:
            present = {str(o.get("value")) for o in have.get("options") or []}
            if lacking := [o for o in want.options if o not in present]:
                out.append(f"HubSpot contact property {name!r} lacks the options {', '.join(lacking)}: add them "
                           "in HubSpot (Settings > Properties > Contact properties)")
    return out


def creatable(fields: Iterable[str], portal: Mapping[str, Any]) -> list[PropertyDef]:
    """The Leadwire properties among `fields` that the portal does not have yet."""
    return [LEADWIRE_PROPERTIES[n] for n in dict.fromkeys(fields) if n in LEADWIRE_PROPERTIES and n not in portal]
