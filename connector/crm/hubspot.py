"""HubSpot adapter: contacts and owners through hubspot-api-client (CRM v3), errors translated once here."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import urllib3
from hubspot import Client
from hubspot.crm.contacts import exceptions as contact_exc
from hubspot.crm.owners import exceptions as owner_exc

from connector.core.errors import ConfigError, CrmAuthError, CrmError, CrmRejectedError, CrmTransientError
from connector.crm.base import (
    Change,
    Owner,
    PushResult,
    PushStatus,
    RecordChange,
    RetryPolicy,
    chunks,
    failed_results,
    parse_time,
)
from connector.crm.redact import redact

DEFAULT_PROPERTIES = ("email", "firstname", "lastname", "company", "hubspot_owner_id", "hs_lead_status",
                      "lastmodifieddate")
SEARCH_PAGE = 100
API_EXCEPTIONS = (contact_exc.ApiException, owner_exc.ApiException)
CLIENT_EXCEPTIONS = (contact_exc.OpenApiException, owner_exc.OpenApiException)
T = TypeVar("T")


def translate(exc: BaseException) -> CrmError | None:
    """The Leadwire error for an exception raised by hubspot-api-client (None: not the SDK's).

    429 and 5xx (and connection failures) are transient, honouring Retry-After; 401/403 mean the token
    is wrong or lacks scopes; other 4xx reject the record. Only HubSpot's `message` and `category`
    are kept, with personal data masked — never the raw body or headers.
    """
    if isinstance(exc, API_EXCEPTIONS):
        status = exc.status or 0
        body: dict[str, Any] = {}
        try:
            body = json.loads(exc.body) if exc.body else {}
        except (TypeError, ValueError):
            pass
        category = body.get("category", exc.reason or "")
        detail = f"HubSpot {status} {category}: {redact(body.get('message', ''))}".strip()
        headers = exc.headers or {}
        after = headers.get("Retry-After")
        retry_after = float(after) if after and str(after).replace(".", "", 1).isdigit() else None
        if status == 429:
            return CrmTransientError(detail, status=status, retry_after=retry_after or 1.0)
        if status == 0 or status >= 500:
            return CrmTransientError(detail, status=status, retry_after=retry_after)
        if status in (401, 403):
            return CrmAuthError(detail, status=status)
        return CrmRejectedError(detail, status=status)
    if isinstance(exc, CLIENT_EXCEPTIONS):
        return CrmRejectedError(f"HubSpot client refused the request: {type(exc).__name__}")
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return CrmTransientError(f"HubSpot unreachable: {type(exc).__name__}")
    return None


class HubSpotAdapter:
    """Contacts in HubSpot: updates by id, upserts by e-mail, 100 inputs per batch call."""

    name = "hubspot"
    object = "contact"
    batch_limit = 100

    def __init__(self, access_token: str, *, base_url: str | None = None, retry: RetryPolicy | None = None,
                 properties: tuple[str, ...] = DEFAULT_PROPERTIES):
        config: dict[str, Any] = {"access_token": access_token}
        if base_url:
            config["host"] = base_url.rstrip("/")
        self.client = Client.create(**config)
        self.retry = retry or RetryPolicy()
        self.properties = list(properties)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> HubSpotAdapter:
        token = env.get("HUBSPOT_ACCESS_TOKEN")
        if not token:
            raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set; the HubSpot connector needs a private-app token")
        return cls(token, base_url=env.get("HUBSPOT_API_BASE"), **kwargs)

    def track(self, properties: Iterable[str]) -> None:
        """Also read these properties (the mapping's targets) in read() and changes_since()."""
        self.properties = list(dict.fromkeys((*self.properties, *properties)))

    # fn is called without arguments; Callable[..., T] because mypy cannot match the callers' lambdas, which bind
    # loop variables as default arguments, against Callable[[], T]
    def _call(self, what: str, fn: Callable[..., T | None]) -> T:
        def once() -> T:
            try:
                result = fn()
            except Exception as exc:  # translated once, here
                crm_error = translate(exc)
                if crm_error is None:
                    raise
                raise crm_error from None
            if result is None:
                raise CrmTransientError(f"HubSpot {what}: an answer the SDK could not read (unexpected status)")
            return result

        return self.retry.call(once, what)

    # -- the interface -------------------------------------------------------------------------
    def read(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Contacts by id, one batch read per 100 ids; ids HubSpot does not know are left out."""
        found: dict[str, dict[str, Any]] = {}
        for batch in chunks([str(i) for i in ids], self.batch_limit):
            body = {"properties": self.properties, "inputs": [{"id": i} for i in batch]}
            answer = self._call("batch read", lambda body=body: self.client.crm.contacts.batch_api.read(
                batch_read_input_simple_public_object_id=body))
            for obj in answer.results:
                found[str(obj.id)] = dict(obj.properties)
        return found

    def push(self, changes: list[Change]) -> list[PushResult]:
        """Write up to 100 changes: batch update (known ids) and batch upsert by e-mail (the rest)."""
        if len(changes) > self.batch_limit:
            raise ValueError(f"push takes at most {self.batch_limit} changes, got {len(changes)}")
        updates = [c for c in changes if c.record_id]
        upserts = [c for c in changes if not c.record_id]
        results: list[PushResult] = []
        if updates:
            results += self._write(updates, "batch update", lambda: self.client.crm.contacts.batch_api.update(
                batch_input_simple_public_object_batch_input={
                    "inputs": [{"id": c.record_id, "properties": _strings(c.fields)} for c in updates]}),
                key_of=lambda obj: str(obj.id), change_key=lambda c: str(c.record_id))
        if upserts:
            results += self._write(upserts, "batch upsert", lambda: self.client.crm.contacts.batch_api.upsert(
                batch_input_simple_public_object_batch_input_upsert={"inputs": [
                    {"id": c.external_id, "idProperty": "email",
                     "properties": _strings({**c.fields, "email": c.external_id})} for c in upserts]}),
                key_of=lambda obj: str(obj.properties.get("email", "")).lower(),
                change_key=lambda c: str(c.external_id).lower())
        return results

    def _write(self, changes: list[Change], what: str, call: Callable[[], Any], *, key_of: Callable[[Any], str],
               change_key: Callable[[Change], str]) -> list[PushResult]:
        try:
            answer = self._call(what, call)
        except (CrmTransientError, CrmRejectedError) as exc:
            return failed_results(changes, exc)
        written = {key_of(obj): str(obj.id) for obj in answer.results}
        refused: dict[str, str] = {}
        for err in getattr(answer, "errors", None) or []:
            for values in (err.context or {}).values():
                for value in values:
                    refused[str(value).lower()] = f"HubSpot {err.category}: {redact(err.message)}"
        out: list[PushResult] = []
        for c in changes:
            k = change_key(c)
            if k in written:
                out.append(PushResult(c.key, PushStatus.OK, written[k]))
            elif k in refused:
                out.append(PushResult(c.key, PushStatus.PARKED, c.record_id, refused[k]))
            else:
                out.append(PushResult(c.key, PushStatus.RETRY, c.record_id, "HubSpot gave no result for this input"))
        return out

    def changes_since(self, cursor: str | None) -> tuple[list[RecordChange], str | None]:
        """Contacts modified at or after `cursor` (an ISO time), oldest first, through paged search."""
        changes: list[RecordChange] = []
        after: str | None = None
        newest = cursor
        while True:
            query: dict[str, Any] = {"properties": self.properties, "limit": SEARCH_PAGE,
                                     "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
            if cursor:
                query["filterGroups"] = [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                                       "value": cursor}]}]
            if after:
                query["after"] = after
            page = self._call("search", lambda query=query: self.client.crm.contacts.search_api.do_search(
                public_object_search_request=query))
            for obj in page.results:
                stamp = obj.properties.get("lastmodifieddate")
                changes.append(RecordChange(str(obj.id), dict(obj.properties), parse_time(stamp), None))
                newest = max(newest or "", stamp or "") or None
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return changes, newest

    def owners(self) -> list[Owner]:
        """Every active owner, paged 100 at a time."""
        owners: list[Owner] = []
        after: str | None = None
        while True:
            page = self._call("owners", lambda after=after: self.client.crm.owners.owners_api.get_page(limit=100,
                                                                                                       after=after))
            owners += [Owner(str(o.id), o.email) for o in page.results if o.email and not o.archived]
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return owners


def _strings(fields: dict[str, Any]) -> dict[str, str]:
    """HubSpot property values are strings ("" clears a property)."""
    return {k: "" if v is None else str(v) for k, v in fields.items()}

