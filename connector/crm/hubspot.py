"""HubSpot adapter: contacts, owners and contact properties through hubspot-api-client (CRM v3), within
HubSpot's rate limits, errors translated once here."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import urllib3
from hubspot import Client
from hubspot.crm.contacts import exceptions as contact_exc
from hubspot.crm.owners import exceptions as owner_exc
from hubspot.crm.properties import exceptions as property_exc

from connector.core.errors import ConfigError, CrmAuthError, CrmError, CrmRejectedError, CrmTransientError
from connector.crm import hubspot_schema
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
from connector.crm.hubspot_auth import Credentials, PrivateAppToken, credentials_from_env
from connector.crm.limits import Limits, MemoryLimits, limits_for
from connector.crm.redact import redact

log = logging.getLogger("leadwire.crm")
DEFAULT_PROPERTIES = ("email", "firstname", "lastname", "company", "hubspot_owner_id", "hs_lead_status",
                      "lastmodifieddate")
SEARCH_PAGE = 100
# a search pages through at most 10,000 results (https://developers.hubspot.com/docs/api/crm/search), at most
# four requests per second per token (https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase)
SEARCH_CAP = 10_000
SEARCH_PER_SECOND = 4
WINDOW = 10.0  # the rolling window's length when X-HubSpot-RateLimit-Interval-Milliseconds does not say
TEN_SECONDLY, DAILY, SEARCH = "hubspot:ten_secondly", "hubspot:daily", "hubspot:search"
API_EXCEPTIONS = (contact_exc.ApiException, owner_exc.ApiException, property_exc.ApiException)
CLIENT_EXCEPTIONS = (contact_exc.OpenApiException, owner_exc.OpenApiException, property_exc.OpenApiException)
T = TypeVar("T")


def _body(exc: Any) -> dict[str, Any]:
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _interval(headers: Mapping[str, str] | None) -> float:
    value = (headers or {}).get("X-HubSpot-RateLimit-Interval-Milliseconds")
    return int(value) / 1000 if value and str(value).isdigit() else WINDOW


def next_midnight(now: float, time_zone: str = "UTC") -> float:
    """Epoch seconds of the next midnight in `time_zone`: when HubSpot's daily limit resets
    (https://developers.hubspot.com/apisbytier: "at midnight based on the time zone setting of the account")."""
    local = datetime.fromtimestamp(now, ZoneInfo(time_zone))
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).timestamp()


def translate(exc: BaseException, *, now: float | None = None, time_zone: str = "UTC") -> CrmError | None:
    """The Leadwire error for an exception raised by hubspot-api-client (None: not the SDK's).

    429 is transient: HubSpot sends no Retry-After but names its policy (https://developers.hubspot.com/docs/
    api/usage-details): TEN_SECONDLY_ROLLING waits out the window, DAILY waits until the daily reset (a
    Retry-After, should one come, wins). 5xx and connection failures are transient; 401/403 mean the token is
    wrong, expired or lacks scopes; other 4xx reject the record. Only HubSpot's `message` and `category` are
    kept, with personal data masked — never the raw body or headers.
    """
    if isinstance(exc, API_EXCEPTIONS):
        status = exc.status or 0
        body = _body(exc)
        category = body.get("category") or body.get("policyName") or exc.reason or ""
        detail = f"HubSpot {status} {category}: {redact(body.get('message', ''))}".strip()
        headers = exc.headers or {}
        after = headers.get("Retry-After")
        retry_after = float(after) if after and str(after).replace(".", "", 1).isdigit() else None
        if status == 429:
            if retry_after is None and body.get("policyName") == "DAILY":
                moment = time.time() if now is None else now
                retry_after = next_midnight(moment, time_zone) - moment
            return CrmTransientError(detail, status=status, retry_after=retry_after or _interval(headers))
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
    """Contacts in HubSpot: updates by id, upserts by e-mail, 100 inputs per batch call, each carrying its
    Change key as objectWriteTraceId so that HubSpot answers per input (multi-status)."""

    name = "hubspot"
    object = "contact"
    batch_limit = 100
    external_id_field = "email"

    def __init__(self, access_token: str | Credentials, *, base_url: str | None = None,
                 retry: RetryPolicy | None = None, properties: tuple[str, ...] = DEFAULT_PROPERTIES,
                 limits: Limits | None = None, time_zone: str = "UTC", now: Callable[[], float] = time.time,
                 search_cap: int = SEARCH_CAP):
        self.auth: Credentials = PrivateAppToken(access_token) if isinstance(access_token, str) else access_token
        config: dict[str, Any] = {"access_token": None}
        if base_url:
            config["host"] = base_url.rstrip("/")
        self.client = Client.create(**config)
        self.retry = retry or RetryPolicy()
        self.properties = list(properties)
        self.limits: Limits = limits if limits is not None else MemoryLimits(now)
        self.time_zone, self.now, self.search_cap = time_zone, now, search_cap
        self._sleeping_through: float | None = None  # a window end the retry policy is waiting out

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> HubSpotAdapter:
        """Private-app token or OAuth app from the environment; ConfigError naming what is missing."""
        base = env.get("HUBSPOT_API_BASE")
        zone = env.get("HUBSPOT_TIME_ZONE") or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"HUBSPOT_TIME_ZONE={zone!r} is not a time zone name (e.g. Europe/Berlin): set the "
                              "HubSpot account's time zone, which its daily API limit resets by") from None
        now = kwargs.get("now", time.time)
        credentials = credentials_from_env(env, host=base.rstrip("/") if base else None, now=now)
        if env.get("REDIS_URL"):
            kwargs.setdefault("limits", limits_for(env))  # shared by every process; else this process's own
        return cls(credentials, base_url=base, time_zone=zone, **kwargs)

    def track(self, properties: Iterable[str]) -> None:
        """Also read these properties (the mapping's targets) in read() and changes_since()."""
        self.properties = list(dict.fromkeys((*self.properties, *properties)))

    # -- calls, limits and credentials ------------------------------------------------------------
    def _gate(self, search: bool) -> None:
        """Wait (or refuse, past max_inline_wait) while a HubSpot limit is spent; no call is made meanwhile."""
        for key in (DAILY, TEN_SECONDLY):
            wait = self.limits.wait(key)
            if key == TEN_SECONDLY and self._sleeping_through is not None \
                    and abs(self.now() + wait - self._sleeping_through) < 0.01:
                wait = 0.0  # the retry policy has just slept through this very window
            if wait > self.retry.max_inline_wait:
                raise CrmTransientError(f"HubSpot {key.split(':')[1]} limit reached: no calls for {wait:.0f} s",
                                        status=429, retry_after=wait)
            if wait > 0:
                self.retry.sleep(wait)
        for _ in range(3) if search else ():
            wait = self.limits.take(SEARCH, SEARCH_PER_SECOND, 1.0)
            if wait <= 0:
                break
            self.retry.sleep(wait)

    def _observe(self, headers: Mapping[str, str] | None, body: dict[str, Any] | None = None) -> None:
        """Mark the limits HubSpot says are spent: by a 429's policyName, or by a Remaining header at 0."""
        headers = headers or {}
        now = self.now()
        policy = (body or {}).get("policyName")
        if policy == "DAILY" or headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
            self.limits.block(DAILY, next_midnight(now, self.time_zone))
        elif policy == "TEN_SECONDLY_ROLLING" or (body is not None and not policy) \
                or headers.get("X-HubSpot-RateLimit-Remaining") == "0":
            until = now + _interval(headers)
            self.limits.block(TEN_SECONDLY, until)
            if body is not None:
                self._sleeping_through = until

    # fn is called without arguments and returns the SDK's (data, status, headers); Callable[..., Any] because
    # mypy cannot match the callers' lambdas, which bind loop variables as default arguments
    def _call(self, what: str, fn: Callable[..., Any], *, search: bool = False, empty: bool = False) -> Any:
        def once() -> Any:
            self._gate(search)
            for attempt in (1, 2):
                self.client.access_token = self.auth.token()
                try:
                    data, _status, headers = fn()
                    self._observe(headers)
                    break
                except API_EXCEPTIONS as exc:
                    body = _body(exc)
                    if exc.status == 401 and body.get("category") == "EXPIRED_AUTHENTICATION" \
                            and self.auth.renewable and attempt == 1:
                        self.auth.renew()  # then the same call once more
                        continue
                    if exc.status == 429:
                        self._observe(exc.headers, body)
                    raise translate(exc, now=self.now(), time_zone=self.time_zone) or exc from None
                except Exception as exc:  # translated once, here
                    crm_error = translate(exc)
                    if crm_error is None:
                        raise
                    raise crm_error from None
            if data is None and not empty:
                raise CrmTransientError(f"HubSpot {what}: an answer the SDK could not read (unexpected status)")
            return data

        try:
            return self.retry.call(once, what)
        except CrmError:
            self._sleeping_through = None  # not slept through: the window still holds for the next call
            raise

    # -- the interface -------------------------------------------------------------------------
    def read(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Contacts by id, one batch read per 100 ids, every tracked property; ids HubSpot does not know are
        left out. A merged-away id maps to the merged record (HubSpot answers it under its new id,
        https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies), whose
        fields["hs_object_id"] then differs from the id asked for."""
        found: dict[str, dict[str, Any]] = {}
        for batch in chunks([str(i) for i in ids], self.batch_limit):
            body = {"properties": [*self.properties, "hs_merged_object_ids"], "inputs": [{"id": i} for i in batch]}
            answer = self._call("batch read", lambda body=body: self.client.crm.contacts.batch_api.read_with_http_info(
                batch_read_input_simple_public_object_id=body))
            for obj in answer.results:
                fields = {**dict(obj.properties), "hs_object_id": str(obj.id)}
                found[str(obj.id)] = fields
                for old in str(fields.get("hs_merged_object_ids") or "").split(";"):
                    if old in batch:
                        found[old] = fields
        return found

    def push(self, changes: list[Change]) -> list[PushResult]:
        """Write up to 100 changes: batch update (known ids) and batch upsert by e-mail (the rest); a record
        HubSpot refuses is parked with its message, the others are written."""
        if len(changes) > self.batch_limit:
            raise ValueError(f"push takes at most {self.batch_limit} changes, got {len(changes)}")
        updates = [c for c in changes if c.record_id]
        upserts = [c for c in changes if not c.record_id]
        return (self._write(updates, "update") if updates else []) + (self._write(upserts, "upsert") if upserts else [])

    def _send(self, changes: list[Change], kind: str) -> Any:
        def api() -> Any:  # built per call: the SDK's API objects copy the access token when they are made
            return self.client.crm.contacts.batch_api

        if kind == "update":
            inputs = [{"id": c.record_id, "properties": _strings(c.fields), "objectWriteTraceId": c.key}
                      for c in changes]
            return self._call("batch update", lambda: api().update_with_http_info(
                batch_input_simple_public_object_batch_input={"inputs": inputs}))
        inputs = [{"id": c.external_id, "idProperty": "email", "objectWriteTraceId": c.key,
                   "properties": _strings({**c.fields, "email": c.external_id})} for c in changes]
        return self._call("batch upsert", lambda: api().upsert_with_http_info(
            batch_input_simple_public_object_batch_input_upsert={"inputs": inputs}))

    def _write(self, changes: list[Change], kind: str) -> list[PushResult]:
        """One batch call; where HubSpot refuses the batch as a whole (400 / 409), or leaves inputs unanswered,
        the inputs are sent again in halves until the refused one is alone and parked with HubSpot's message."""
        try:
            answer = self._send(changes, kind)
        except CrmRejectedError as exc:
            if len(changes) == 1:
                return [PushResult(changes[0].key, PushStatus.PARKED, changes[0].record_id, str(exc))]
            return self._halves(changes, kind)
        except CrmTransientError as exc:
            return failed_results(changes, exc)
        by_key = {c.key: c for c in changes}
        written: dict[str, str] = {}
        for obj in answer.results:
            trace = getattr(obj, "object_write_trace_id", None)
            key = trace if trace in by_key else self._key_by_value(changes, kind, obj)
            if key:
                written[key] = str(obj.id)
        refused: dict[str, str] = {}
        unnamed: list[str] = []
        for err in getattr(answer, "errors", None) or []:
            message = f"HubSpot {err.category}: {redact(err.message)}"
            context = err.context or {}
            named = [str(t) for t in context.get("objectWriteTraceId") or [] if str(t) in by_key]
            for key in named:
                refused[key] = message
            if not named:
                unnamed.append(message)
        out: list[PushResult] = []
        unresolved: list[Change] = []
        for c in changes:
            if c.key in written:
                out.append(PushResult(c.key, PushStatus.OK, written[c.key]))
            elif c.key in refused:
                out.append(PushResult(c.key, PushStatus.PARKED, c.record_id, refused[c.key]))
            else:
                unresolved.append(c)
        if len(unresolved) == 1 and len(changes) == 1:
            reason = unnamed[0] if unnamed else "HubSpot answered neither a result nor an error for this input"
            out.append(PushResult(unresolved[0].key, PushStatus.PARKED, unresolved[0].record_id, reason))
        elif unresolved:
            out += self._halves(unresolved, kind) if len(unresolved) == len(changes) else self._write(unresolved, kind)
        return out

    def _halves(self, changes: list[Change], kind: str) -> list[PushResult]:
        mid = len(changes) // 2
        return self._write(changes[:mid], kind) + self._write(changes[mid:], kind)

    @staticmethod
    def _key_by_value(changes: list[Change], kind: str, obj: Any) -> str | None:
        """The change a result without objectWriteTraceId answers: by id (update) or by e-mail (upsert)."""
        if kind == "update":
            return next((c.key for c in changes if str(c.record_id) == str(obj.id)), None)
        email = str((obj.properties or {}).get("email", "")).lower()
        return next((c.key for c in changes if str(c.external_id).lower() == email), None)

    def changes_since(self, cursor: str | None) -> tuple[list[RecordChange], str | None]:
        """Contacts modified at or after `cursor` (an ISO time), oldest first, through paged search. A search
        pages through at most `search_cap` results, so past them a new search starts at the newest
        lastmodifieddate seen (records seen twice are returned once)."""
        seen: dict[str, RecordChange] = {}
        start, newest = cursor, cursor
        while True:
            after: str | None = None
            fetched = 0
            while True:
                page = self._search(start, after)
                for obj in page.results:
                    stamp = obj.properties.get("lastmodifieddate")
                    seen.pop(str(obj.id), None)
                    seen[str(obj.id)] = RecordChange(str(obj.id), dict(obj.properties), parse_time(stamp), None)
                    newest = max(newest or "", stamp or "") or None
                fetched += len(page.results)
                after = page.paging.next.after if page.paging and page.paging.next else None
                if not after:
                    return list(seen.values()), newest
                if fetched + SEARCH_PAGE > self.search_cap:
                    break
            if newest == start:
                log.warning("hubspot search: more than %d contacts share one lastmodifieddate; the rest waits for the "
                            "next poll", self.search_cap)
                return list(seen.values()), newest
            start = newest

    def _search(self, since: str | None, after: str | None) -> Any:
        query: dict[str, Any] = {"properties": self.properties, "limit": SEARCH_PAGE,
                                 "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
        if since:
            query["filterGroups"] = [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                                   "value": since}]}]
        if after:
            query["after"] = after
        return self._call("search", lambda: self.client.crm.contacts.search_api.do_search_with_http_info(
            public_object_search_request=query), search=True)

    def owners(self) -> list[Owner]:
        """Every active owner, paged 100 at a time."""
        owners: list[Owner] = []
        after: str | None = None
        while True:
            page = self._call("owners", lambda after=after: self.client.crm.owners.owners_api.get_page_with_http_info(
                limit=100, after=after))
            owners += [Owner(str(o.id), o.email) for o in page.results if o.email and not o.archived]
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return owners

    def delete(self, record_ids: list[str]) -> None:
        """Privacy deletion: each contact permanently deleted through GDPR delete (one call per contact,
        https://developers.hubspot.com/docs/api/crm/contacts); an id HubSpot no longer knows is already gone."""
        for record_id in record_ids:
            try:
                self._call("gdpr delete", lambda record_id=record_id: self._contacts().purge_with_http_info(
                    public_gdpr_delete_input={"objectId": str(record_id)}), empty=True)
            except CrmRejectedError as exc:
                if exc.status != 404:
                    raise

    def _contacts(self) -> Any:
        return self.client.crm.contacts.basic_api

    # -- the schema ----------------------------------------------------------------------------
    def _portal_properties(self) -> dict[str, dict[str, Any]]:
        answer = self._call("properties", lambda: self.client.crm.properties.core_api.get_all_with_http_info(
            object_type="contacts"))
        return {p.name: {"name": p.name, "type": p.type, "fieldType": p.field_type,
                         "options": [{"value": o.value} for o in p.options or []]} for p in answer.results}

    def schema_problems(self, fields: Iterable[str], *,
                        values: Mapping[str, Iterable[str]] | None = None) -> list[str]:
        """One message per contact property Leadwire reads or writes that the portal lacks or has wrong, and
        per enumeration value Leadwire writes (`values`: property -> values) that the property lacks."""
        return hubspot_schema.problems(fields, self._portal_properties(), values)

    def setup_schema(self, fields: Iterable[str]) -> list[str]:
        """Create the missing leadwire_* properties (in group "leadwire"); other missing names are reported."""
        fields = list(fields)
        portal = self._portal_properties()
        done: list[str] = []
        missing = hubspot_schema.creatable(fields, portal)
        if missing:
            def api() -> Any:  # built per call, as in _send
                return self.client.crm.properties

            groups = self._call("property groups",
                                lambda: api().groups_api.get_all_with_http_info(object_type="contacts"))
            if hubspot_schema.GROUP not in {g.name for g in groups.results}:
                self._call("create property group", lambda: api().groups_api.create_with_http_info(
                    object_type="contacts", property_group_create={"name": hubspot_schema.GROUP,
                                                                   "label": hubspot_schema.GROUP_LABEL}))
                done.append(f"created property group {hubspot_schema.GROUP!r}")
            self._call("create properties", lambda: api().batch_api.create_with_http_info(
                object_type="contacts", batch_input_property_create={"inputs": [p.as_create() for p in missing]}))
            done += [f"created contact property {p.name!r} ({p.type})" for p in missing]
        done += [f"cannot create contact property {n!r}: it is not one of Leadwire's; create it in HubSpot "
                 "(Settings > Properties > Contact properties) or change the mapping"
                 for n in dict.fromkeys(fields) if n not in portal and n not in hubspot_schema.LEADWIRE_PROPERTIES]
        return done


def _strings(fields: dict[str, Any]) -> dict[str, str]:
    """HubSpot property values are strings ("" clears a property)."""
    return {k: "" if v is None else str(v) for k, v in fields.items()}
