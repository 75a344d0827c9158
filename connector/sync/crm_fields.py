"""What a CRM must have for Leadwire to write to it: the fields the flows' write-back mappings name, checked
(`crm check`) or created where the vendor's API allows (`crm setup`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from connector.core.runtime import Runtime
from connector.sync.drain import adapter


@dataclass
class SchemaReport:
    """Per CRM: the fields looked at, and what is missing or wrong (empty: ready), or what setup did."""

    crm: str
    fields: list[str]
    problems: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)


def needed_fields(rt: Runtime, crm: str) -> list[str]:
    """Every CRM field a flow writes to `crm` (mapping targets), plus the adapter's upsert key if it has one."""
    names = [f.target for flow in rt.spec.flows if (m := getattr(flow.crm, crm, None)) for f in m.fields]
    key = getattr(adapter(rt, crm), "external_id_field", None)
    return list(dict.fromkeys([*names, *([key] if key else [])]))


def written_values(rt: Runtime, crm: str) -> dict[str, set[str]]:
    """CRM field -> the picklist values the flows write there (feedback.crm_status, into the field the
    pursuit status is mapped to)."""
    out: dict[str, set[str]] = {}
    for flow in rt.spec.flows:
        mapping = getattr(flow.crm, crm, None)
        statuses = {v for v in flow.feedback.crm_status.get(crm, {}).values() if v}
        for f in (mapping.fields if mapping else ()):
            if f.field == "feedback.pursuit_status" and statuses:
                out.setdefault(f.target, set()).update(statuses)
    return out


def check(rt: Runtime, crm: str) -> SchemaReport:
    """What `crm` lacks of the fields and picklist values Leadwire writes; an empty `problems` means ready."""
    names = needed_fields(rt, crm)
    return SchemaReport(crm, names, problems=adapter(rt, crm).schema_problems(names, values=written_values(rt, crm)))


def setup(rt: Runtime, crm: str) -> SchemaReport:
    """Create what the CRM's API allows, then check again: `problems` is what is left to do by hand."""
    names = needed_fields(rt, crm)
    crm_adapter = adapter(rt, crm)
    done = crm_adapter.setup_schema(names)
    return SchemaReport(crm, names, problems=crm_adapter.schema_problems(names, values=written_values(rt, crm)),
                        done=done)
