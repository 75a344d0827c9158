"""Salesforce adapter: Leads through simple-salesforce (REST, sObject Collections), errors translated once here."""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_exc

from connector.core.errors import CrmAuthError, CrmError, CrmRejectedError, CrmTransientError
from connector.crm import salesforce_schema
from connector.crm.base import Change, Owner, PushResult, PushStatus, RecordChange, RetryPolicy, failed_results
from connector.crm.limits import Limits, MemoryLimits, limits_for
from connector.crm.redact import redact
from connector.crm.salesforce_auth import Login, SfSession, login_from_env

DEFAULT_FIELDS = ("Id", "Email", "FirstName", "LastName", "Company", "Status", "OwnerId", "SystemModstamp",
                  "LastModifiedById")
# REQUEST_LIMIT_EXCEEDED has no Retry-After, and the allocation is counted over a rolling 24 hours
# (https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm):
# every process stops for 5 minutes, then one call finds out whether the oldest requests have rolled off
LIMIT_RETRY_AFTER = 300.0
DAILY = "salesforce:daily"
TRANSIENT_CODES = {"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "UNKNOWN_EXCEPTION",
                   "QUERY_TIMEOUT"}
AUTH_CODES = {"INVALID_SESSION_ID", "INVALID_AUTH_HEADER", "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED",
              "INSUFFICIENT_ACCESS"}
RECORD_RETRY_CODES = {"UNABLE_TO_LOCK_ROW"}
T = TypeVar("T")


def _first_error(content: Any) -> tuple[str, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error", "")), str(content.get("message", ""))
    return "", ""


def translate(exc: BaseException) -> CrmError | None:
    """The Leadwire error for an exception raised by simple-salesforce (None: not the SDK's).

    Classified by status and Salesforce errorCode: REQUEST_LIMIT_EXCEEDED and 5xx are transient,
    session and permission errors are auth errors, the rest reject the record. Only errorCode and
    the masked message are kept.
    """
    if isinstance(exc, sf_exc.SalesforceAuthenticationFailed):
        return CrmAuthError(f"Salesforce login failed: {redact(getattr(exc, 'code', ''))}")
    if isinstance(exc, sf_exc.SalesforceError):
        code, message = _first_error(exc.content)
        detail = f"Salesforce {exc.status} {code}: {redact(message)}"
        if code == "REQUEST_LIMIT_EXCEEDED":
            return CrmTransientError(detail, status=exc.status, retry_after=LIMIT_RETRY_AFTER)
        if code in TRANSIENT_CODES or (exc.status or 0) >= 500 or exc.status == 429:
            return CrmTransientError(detail, status=exc.status)
        if code in AUTH_CODES or isinstance(exc, sf_exc.SalesforceExpiredSession):
            return CrmAuthError(detail, status=exc.status)
        return CrmRejectedError(detail, status=exc.status)
    if isinstance(exc, sf_exc.SalesforceOperationError):
        return CrmRejectedError(f"Salesforce operation failed: {type(exc).__name__}")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return CrmTransientError(f"Salesforce unreachable: {type(exc).__name__}")
    return None


class SalesforceAdapter:
    """Leads in Salesforce: updates by Id, upserts by an external id field, 200 records per collection call."""

    name = "salesforce"
    object = "Lead"
    batch_limit = 200

    def __init__(self, sf: Salesforce | None, *, external_id_field: str = "Leadwire_Id__c",
                 retry: RetryPolicy | None = None, fields: tuple[str, ...] = DEFAULT_FIELDS, slow_down_at: float = 0.8,
                 max_pause: float = 10.0, integration_user_id: str | None = None, limits: Limits | None = None,
                 now: Callable[[], float] = time.time, login: Login | None = None,
                 connect: Callable[[SfSession], Salesforce] | None = None, username: str | None = None):
        """`sf` is a connected client, or None with `login` (a token request) and `connect` (session ->
        client): then the adapter logs in on first use and again when Salesforce answers INVALID_SESSION_ID."""
        if sf is None and (login is None or connect is None):
            raise ValueError("SalesforceAdapter needs a Salesforce client, or a login and a connect function")
        self._sf = sf
        self._login, self._connect = login, connect
        self._login_lock = threading.Lock()
        self.logins = 0  # token requests made (a renewed session counts one more)
        self.username = username
        self.external_id_field = external_id_field
        self.retry = retry or RetryPolicy()
        self.fields = list(dict.fromkeys((*fields, external_id_field)))
        self.slow_down_at = slow_down_at
        self.max_pause = max_pause
        self._me: str | None = None
        self.integration_user_id = integration_user_id
        self.now = now
        self.limits: Limits = limits if limits is not None else MemoryLimits(now)

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce client, logging in first when there is none yet."""
        if self._sf is None:
            self._renew(None)
        assert self._sf is not None
        return self._sf

    def _renew(self, stale: Salesforce | None) -> None:
        """Log in again unless another thread already replaced the `stale` client."""
        if self._login is None or self._connect is None:
            return
        with self._login_lock:
            if self._sf is not stale:
                return
            session = self._login()
            self.logins += 1
            if session.user_id and not self.integration_user_id:
                self._me = session.user_id  # the token's identity URL names the integration user
            self._sf = self._connect(session)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> SalesforceAdapter:
        """The adapter the environment configures (see salesforce_auth.FLOWS); ConfigError naming what is
        missing. No call is made here: an OAuth login happens on first use."""
        ca_bundle = env.get("SALESFORCE_CA_BUNDLE")
        session = _PinnedSession(ca_bundle) if ca_bundle else requests.Session()
        version = env.get("SALESFORCE_API_VERSION", "59.0")
        login = login_from_env(env, session, now=kwargs.get("now", time.time))  # the assertion's exp on this clock

        def connect(s: SfSession) -> Salesforce:
            return Salesforce(instance_url=s.instance_url, session_id=s.access_token, version=version, session=session)

        sf = None if login else connect(SfSession(env["SALESFORCE_ACCESS_TOKEN"], env["SALESFORCE_INSTANCE_URL"]))
        kwargs.setdefault("limits", limits_for(env))  # shared by every process; else this process's own
        return cls(sf, external_id_field=env.get("SALESFORCE_EXTERNAL_ID_FIELD", "Leadwire_Id__c"),
                   integration_user_id=env.get("SALESFORCE_INTEGRATION_USER_ID") or None, login=login,
                   connect=connect, username=env.get("SALESFORCE_USERNAME") or None, **kwargs)

    def integration_user(self) -> str:
        """The Id of the user Leadwire writes as (its changes are echoes), found once: SALESFORCE_INTEGRATION_USER_ID,
        else the identity URL of the OAuth token response, else a SOQL query on User by SALESFORCE_USERNAME; a
        bare session (SALESFORCE_ACCESS_TOKEN) with neither falls back to /oauth2/userinfo, which needs the
        openid scope."""
        if self._me is None and self.integration_user_id:
            self._me = self.integration_user_id
        if self._me is None and self._login is not None:
            self._call("login", lambda: self.sf)  # the token response names the user
        if self._me is None and self.username:
            name = self.username.replace("\\", "\\\\").replace("'", "\\'")
            rows = self._query(f"SELECT Id FROM User WHERE Username = '{name}' LIMIT 1")
            if not rows:
                raise CrmAuthError(f"Salesforce has no user with the username in SALESFORCE_USERNAME "
                                   f"({redact(self.username)}): set SALESFORCE_INTEGRATION_USER_ID")
            self._me = str(rows[0]["Id"])
        if self._me is None:
            info = self._call("userinfo", lambda: self.sf.oauth2("userinfo"))
            if info is None:
                raise CrmTransientError("Salesforce userinfo: an empty answer (no user id)")
            self._me = str(info["user_id"])
        return self._me

    def record_change(self, fields: dict[str, Any]) -> RecordChange:
        """A Lead's fields as a RecordChange, marked when Leadwire's own user changed it last."""
        by = fields.get("LastModifiedById")
        modified_at = _parse(fields.get("SystemModstamp") or fields.get("LastModifiedDate"))
        return RecordChange(fields["Id"], fields, modified_at, by, None if not by else by == self.integration_user())

    def track(self, fields: Iterable[str]) -> None:
        """Also read these Lead fields (the mapping's targets) in read() and changes_since()."""
        self.fields = list(dict.fromkeys((*self.fields, *fields)))

    # fn is called without arguments; Callable[..., T] because mypy cannot match the callers' lambdas, which bind
    # loop variables as default arguments, against Callable[[], T]
    def _call(self, what: str, fn: Callable[..., T]) -> T:
        def once() -> T:
            blocked = self.limits.wait(DAILY)
            if blocked > 0:  # another process met REQUEST_LIMIT_EXCEEDED: no call until the block ends
                raise CrmTransientError(f"Salesforce API request limit reached: no calls for {blocked:.0f} s",
                                        status=403, retry_after=blocked)
            try:
                client = self.sf  # logs in on first use
                try:
                    return fn()
                except sf_exc.SalesforceExpiredSession:
                    if self._login is None:
                        raise
                    # 401 INVALID_SESSION_ID: the session expired (nothing was done); log in again, repeat once
                    self._renew(client)
                    return fn()
            except Exception as exc:  # translated once, here
                crm_error = translate(exc)
                if crm_error is None:
                    raise
                if crm_error.retry_after == LIMIT_RETRY_AFTER:
                    self.limits.block(DAILY, self.now() + LIMIT_RETRY_AFTER)
                raise crm_error from None

        result = self.retry.call(once, what)
        self._pace()
        return result

    def _pace(self) -> None:
        """Slow down as Sforce-Limit-Info usage nears the org's limit (sf.api_usage); at the limit, stop
        every process sharing the limits (each sees the org-wide count only on its own next answer)."""
        usage = (self.sf.api_usage or {}).get("api-usage")
        if not usage or not usage.total:
            return
        if usage.used >= usage.total:
            self.limits.block(DAILY, self.now() + LIMIT_RETRY_AFTER)
            return
        share = usage.used / usage.total
        if share >= self.slow_down_at:
            pause = self.max_pause * min(1.0, (share - self.slow_down_at) / max(1e-9, 1 - self.slow_down_at))
            self.retry.waits.append(pause)
            self.retry.sleep(pause)

    def _query(self, soql: str) -> list[dict[str, Any]]:
        page = self._call("query", lambda: self.sf.query(soql))
        rows = list(page["records"])
        while not page.get("done", True):
            url = page["nextRecordsUrl"]
            page = self._call("query more", lambda url=url: self.sf.query_more(url, identifier_is_url=True))
            rows += page["records"]
        return [{k: v for k, v in r.items() if k != "attributes"} for r in rows]

    # -- the interface -------------------------------------------------------------------------
    def read(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Leads by Id, one query per 200 ids."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), self.batch_limit):
            quoted = ",".join(f"'{_soql_id(i)}'" for i in ids[start:start + self.batch_limit])
            for row in self._query(f"SELECT {', '.join(self.fields)} FROM Lead WHERE Id IN ({quoted})"):
                found[row["Id"]] = row
        return found

    def push(self, changes: list[Change]) -> list[PushResult]:
        """Write up to 200 changes: a collection update (known Ids) and a collection upsert (the rest)."""
        if len(changes) > self.batch_limit:
            raise ValueError(f"push takes at most {self.batch_limit} changes, got {len(changes)}")
        results: list[PushResult] = []
        updates = [c for c in changes if c.record_id]
        upserts = [c for c in changes if not c.record_id]
        if updates:
            records = [{"attributes": {"type": "Lead"}, "id": c.record_id, **c.fields} for c in updates]
            results += self._collection(updates, "composite/sobjects", records)
        if upserts:
            records = [{"attributes": {"type": "Lead"}, **c.fields, self.external_id_field: c.external_id}
                       for c in upserts]
            results += self._collection(upserts, f"composite/sobjects/Lead/{self.external_id_field}", records)
        return results

    def _collection(self, changes: list[Change], path: str, records: list[dict[str, Any]]) -> list[PushResult]:
        body = {"allOrNone": False, "records": records}
        try:
            answer = self._call(path, lambda: self.sf.restful(path, method="PATCH", json=body))
        except (CrmTransientError, CrmRejectedError) as exc:
            return failed_results(changes, exc)
        out: list[PushResult] = []
        # one result per record, in order; no answer at all leaves every change without a result
        for change, result in zip(changes, answer or [], strict=False):
            if result.get("success"):
                out.append(PushResult(change.key, PushStatus.OK, result.get("id")))
            else:
                errors = result.get("errors") or [{}]
                message = "; ".join(f"{e.get('statusCode', '')}: {_record_message(e)}" for e in errors)
                # a record locked by another transaction succeeds when sent again; every other code is the record's
                retry = all(e.get("statusCode") in RECORD_RETRY_CODES for e in errors)
                out.append(PushResult(change.key, PushStatus.RETRY if retry else PushStatus.PARKED, change.record_id,
                                      f"Salesforce {message}"))
        return out

    def changes_since(self, cursor: str | None) -> tuple[list[RecordChange], str | None]:
        """Leads whose SystemModstamp is at or after `cursor`, oldest first, following nextRecordsUrl."""
        where = f" WHERE SystemModstamp >= {soql_datetime(cursor)}" if cursor else ""
        rows = self._query(f"SELECT {', '.join(self.fields)} FROM Lead{where} ORDER BY SystemModstamp ASC")
        changes = [self.record_change(r) for r in rows]
        newest = soql_datetime(rows[-1]["SystemModstamp"]) if rows else cursor
        return changes, newest

    def schema_problems(self, fields: Iterable[str], *, values: Mapping[str, Iterable[str]] | None = None) -> list[str]:
        """Through the Lead describe: each field missing or read-only, picklist values Leadwire writes
        (`values`: field -> values, e.g. {"Status": the flows' crm_status values}) that the org lacks, and an
        upsert key that is no External ID; each message says how to fix it."""
        described = self._call("describe", lambda: self.sf.restful("sobjects/Lead/describe"))
        return salesforce_schema.problems(described, fields, self.external_id_field, values)

    def setup_schema(self, fields: Iterable[str]) -> list[str]:
        """Custom fields are created in Setup (or by a Metadata API deploy), which Leadwire does not do through
        the REST API: step-by-step instructions for each missing field, naming its type and length."""
        missing = [p for p in self.schema_problems(fields) if "does not exist" in p]
        return [f"cannot create Lead fields through the REST API; by hand: {p}" for p in missing]

    def delete(self, record_ids: list[str]) -> None:
        """Delete these Leads (privacy erasure), 200 per sObject Collections call; already gone counts as done."""
        for start in range(0, len(record_ids), self.batch_limit):
            ids = ",".join(_soql_id(i) for i in record_ids[start:start + self.batch_limit])
            answer = self._call("delete", lambda ids=ids: self.sf.restful(
                "composite/sobjects", method="DELETE", params={"ids": ids, "allOrNone": "false"}))
            for result in answer or []:
                codes = {e.get("statusCode") for e in result.get("errors") or []}
                if not result.get("success") and not codes <= {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}:
                    raise CrmRejectedError(f"Salesforce refused to delete {result.get('id')}: {', '.join(codes)}")

    def owners(self) -> list[Owner]:
        """Active users with an e-mail address, other than Leadwire's own integration user."""
        rows = self._query("SELECT Id, Email FROM User WHERE IsActive = true")
        me = self.integration_user()
        return [Owner(r["Id"], r["Email"]) for r in rows if r.get("Email") and r["Id"] != me]


class _PinnedSession(requests.Session):
    """A session whose CA bundle wins over REQUESTS_CA_BUNDLE in the environment (requests lets the env win)."""

    def __init__(self, ca_bundle: str):
        super().__init__()
        self.verify = ca_bundle

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify if verify in (None, True) else verify
        return settings


def _soql_id(value: str) -> str:
    if not str(value).isalnum():
        raise ValueError(f"not a Salesforce id: {value!r}")
    return str(value)


def _record_message(error: dict[str, Any]) -> str:
    """A per-record error's message, masked; STRING_TOO_LONG quotes the value, so only the field and its
    length are kept ("Company: data value too large: … (max length=255)")."""
    text = str(error.get("message", ""))
    if error.get("statusCode") == "STRING_TOO_LONG":
        field = ", ".join(error.get("fields") or []) or text.split(":", 1)[0]
        limit = re.search(r"\(max length=\d+\)", text)
        return f"{field}: data value too large {limit.group(0) if limit else ''}".rstrip()
    return redact(text)


def soql_datetime(stamp: str) -> str:
    """A time as a SOQL datetime literal, YYYY-MM-DDThh:mm:ssZ (SOQL takes no fractional seconds or +0000:
    https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm)."""
    when = _parse(stamp)
    if when is None:
        raise ValueError(f"not a time: {stamp!r}")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    text = stamp.replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text)
