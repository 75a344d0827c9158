"""CRM connectors: one adapter per CRM behind the interface in base.py, registered explicitly below."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connector.crm.base import Change, CrmAdapter, Owner, PushResult, PushStatus, RecordChange


def _hubspot(env: Mapping[str, str], **kwargs: Any) -> CrmAdapter:
    from connector.crm.hubspot import HubSpotAdapter  # local: hubspot-api-client is loaded only when HubSpot is used
    return HubSpotAdapter.from_env(env, **kwargs)


def _salesforce(env: Mapping[str, str], **kwargs: Any) -> CrmAdapter:
    from connector.crm.salesforce import SalesforceAdapter  # local: simple-salesforce is loaded only when used
    return SalesforceAdapter.from_env(env, **kwargs)


# name -> (factory from environment, the variables whose presence means "configured"; HUBSPOT_CLIENT_SECRET is
# left out: it also verifies webhook signatures without any API access)
ADAPTERS: dict[str, tuple[Callable[..., CrmAdapter], tuple[str, ...]]] = {
    "hubspot": (_hubspot, ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_CLIENT_ID", "HUBSPOT_REFRESH_TOKEN")),
    "salesforce": (_salesforce, ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_USERNAME", "SALESFORCE_CLIENT_ID")),
}


def adapter_for(name: str, env: Mapping[str, str], **kwargs: Any) -> CrmAdapter:
    """The adapter for CRM `name`, built from environment variables; ConfigError when they are missing."""
    if name not in ADAPTERS:
        raise KeyError(f"unknown CRM {name!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[name][0](env, **kwargs)


def configured(env: Mapping[str, str]) -> list[str]:
    """The CRMs whose credentials are present in `env`."""
    return [name for name, (_, keys) in ADAPTERS.items() if any(env.get(k) for k in keys)]


__all__ = ["ADAPTERS", "Change", "CrmAdapter", "Owner", "PushResult", "PushStatus", "RecordChange", "adapter_for",
           "configured"]
