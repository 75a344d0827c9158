"""The sandbox's in-memory CRM data, switchable faults and per-endpoint call counters."""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.demo.sandbox.schema import (
    HUBSPOT_GROUPS,
    default_hubspot_properties,
    default_salesforce_meta,
    default_schema,
)


@dataclass
class Faults:
    """Faults switchable at run time; every field can be set through /_sandbox/faults."""

    error_rate: float = 0.0          # share of API calls answered with a 5xx (seeded, reproducible)
    latency_ms: int = 0              # added to every API call
    outage: bool = False             # every API call answers 503
    outage_after: int | None = None  # the outage starts after this many more API calls
    rate_limit_storm: int = 0        # the next N calls are rate limited (HubSpot 429 / Salesforce 403)
    hubspot_budget: int | None = None     # calls left in HubSpot's rolling window (None = unlimited)
    retry_after: int = 1             # seconds, sent in Retry-After on HubSpot 429
    salesforce_api_limit: int = 15000     # the org's daily API request allocation (Sforce-Limit-Info M)
    salesforce_api_used: int = 0          # requests used so far today (Sforce-Limit-Info N)
    salesforce_row_locks: int = 0         # the next N collection records answer UNABLE_TO_LOCK_ROW
    salesforce_session_seconds: int = 7200  # the org's session timeout: a session idle this long expires (2 h)
    auth_fail: bool = False          # reject every token
    query_page_size: int = 2000      # Salesforce query batch size (nextRecordsUrl paging)
    seed: int = 7
    # HubSpot, as documented (each cited where it is enforced, in hubspot_api.py)
    hubspot_window_max: int = 190         # calls per rolling 10 s (X-HubSpot-RateLimit-Max of a private app)
    hubspot_daily_limit: int = 500000     # calls per day, reset at midnight in the account's time zone (UTC here)
    hubspot_multi_status: bool = True     # batch writes whose inputs all carry objectWriteTraceId answer 207
    hubspot_unnamed_errors: bool = False  # 207 errors carry no context naming their input
    hubspot_search_cap: int = 10000       # results one search can page through
    hubspot_token_ttl: int = 1800         # seconds an OAuth access token lives (expires_in)

    def update(self, values: dict[str, Any]) -> None:
        """Set the named faults; raise ValueError naming an unknown one."""
        names = {f.name for f in dc_fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(names))}")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}


def sf_time(when: datetime) -> str:
    """Salesforce's datetime wire format: 2026-01-05T09:00:00.000+0000."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def hs_time(when: datetime) -> str:
    """HubSpot's datetime wire format: 2026-01-05T09:00:00.000Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def default_picklists() -> dict[str, set]:
    """A new org's restricted picklists (add an org's own values with picklists[...].add())."""
    return {"Lead.Status": {"Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                            "Closed - Not Converted"},
            "hs_lead_status": {"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
                               "CONNECTED", "BAD_TIMING"}}


API_USER_ID = "005000000000API"     # the integration user the sandbox's API writes are made by
REP_USER_PREFIX = "0050000000"


@dataclass
class SandboxState:
    """Everything the sandbox knows; guarded by one lock (the server is threaded)."""

    clock: Any = None
    faults: Faults = field(default_factory=Faults)
    contacts: dict[str, dict] = field(default_factory=dict)    # HubSpot: id -> {id, properties, createdAt, updatedAt}
    owners: list[dict] = field(default_factory=list)           # HubSpot owners
    leads: dict[str, dict] = field(default_factory=dict)       # Salesforce: Id -> fields
    users: list[dict] = field(default_factory=list)            # Salesforce users
    calls: Counter = field(default_factory=Counter)            # "hubspot POST /crm/v3/..." -> n
    writes: Counter = field(default_factory=Counter)           # ("hubspot", id) -> times written by the API
    queries: dict[str, list] = field(default_factory=dict)     # query locator -> remaining records
    picklists: dict[str, set] = field(default_factory=dict)    # restricted values: "Lead.Status", "hs_lead_status"
    schema: dict[str, set[str]] = field(default_factory=default_schema)  # properties / fields the org has
    lock: threading.RLock = field(default_factory=threading.RLock)
    hubspot_properties: dict[str, dict] = field(default_factory=default_hubspot_properties)  # name -> definition
    hubspot_groups: set[str] = field(default_factory=lambda: set(HUBSPOT_GROUPS))  # property groups
    hubspot_call_times: list[float] = field(default_factory=list)   # epoch seconds of each accepted API call
    hubspot_daily_used: dict[str, int] = field(default_factory=dict)  # day (account time zone) -> calls
    hubspot_apps: dict[str, dict] = field(default_factory=dict)     # OAuth client id -> {secret, refresh_tokens}
    hubspot_tokens: dict[str, float] = field(default_factory=dict)  # issued access token -> expires at (epoch)
    hubspot_merged: dict[str, str] = field(default_factory=dict)    # merged-away contact id -> the merged record's id
    salesforce_meta: dict[str, dict] = field(default_factory=default_salesforce_meta)  # Lead field -> describe metadata
    salesforce_apps: dict[str, dict] = field(default_factory=dict)   # connected app client id -> {certificate, secret}
    salesforce_refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> client id
    salesforce_sessions: dict[str, float] = field(default_factory=dict)  # issued access token -> last used (epoch)
    _seq: int = 0
    _last: datetime | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.faults.seed)
        self.picklists.update(default_picklists())

    def now(self) -> datetime:
        """Strictly increasing timestamps (millisecond steps), so modstamps order changes."""
        base = self.clock.now() if self.clock else datetime.now(UTC)
        base = base.replace(microsecond=base.microsecond // 1000 * 1000)
        if self._last is not None and base <= self._last:
            base = self._last + timedelta(milliseconds=1)
        self._last = base
        return base

    def instant(self) -> float:
        """The clock's time in epoch seconds, unrounded (rate-limit windows, token expiry)."""
        return (self.clock.now() if self.clock else datetime.now(UTC)).timestamp()

    def next_id(self) -> int:
        self._seq += 1
        return self._seq

    def reset(self) -> None:
        """Forget all data, faults and counters."""
        with self.lock:
            self.faults = Faults()
            self.rng = random.Random(self.faults.seed)
            for bag in (self.contacts, self.leads, self.queries):
                bag.clear()
            self.owners.clear()
            self.users.clear()
            self.calls.clear()
            self.writes.clear()
            self.picklists.clear()
            self.picklists.update(default_picklists())
            self.schema = default_schema()
            self.hubspot_properties = default_hubspot_properties()
            self.hubspot_groups = set(HUBSPOT_GROUPS)
            self.salesforce_meta = default_salesforce_meta()
            for log in (self.hubspot_call_times, self.hubspot_daily_used, self.hubspot_apps, self.hubspot_tokens,
                        self.hubspot_merged):
                log.clear()
            self.salesforce_apps.clear()
            self.salesforce_refresh_tokens.clear()
            self.salesforce_sessions.clear()
            self._last = None

    def stats(self) -> dict[str, Any]:
        """Per-endpoint call counters, the number of records, and writes per record."""
        with self.lock:
            return {
                "calls": dict(self.calls),
                "total_calls": sum(self.calls.values()),
                "contacts": len(self.contacts),
                "leads": len(self.leads),
                "writes": {f"{crm}:{rid}": n for (crm, rid), n in self.writes.items()},
                "hubspot_call_times": list(self.hubspot_call_times),
            }

    # -- people the CRM knows ------------------------------------------------------------
    def add_owner(self, email: str, first: str = "", last: str = "") -> dict:
        """A HubSpot owner (a user who can own contacts)."""
        with self.lock:
            n = self.next_id()
            stamp = hs_time(self.now())
            owner = {"id": str(100 + n), "email": email, "firstName": first, "lastName": last,
                     "userId": 9000 + n, "type": "PERSON", "archived": False,
                     "createdAt": stamp, "updatedAt": stamp}
            self.owners.append(owner)
            return owner

    def add_user(self, email: str, name: str = "") -> dict:
        """A Salesforce user (can own Leads)."""
        with self.lock:
            user = {"Id": f"{REP_USER_PREFIX}{self.next_id():05d}", "Email": email, "Name": name or email,
                    "IsActive": True, "Username": email}
            self.users.append(user)
            return user
