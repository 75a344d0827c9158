"""The typed spec: what flows.yaml and mappings/*.yaml say, after validation (all frozen dataclasses)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from connector.core.errors import NotFound

SOURCE_KINDS = ("form", "api", "hubspot", "salesforce", "csv")
OUTCOMES = ("routed", "nurture", "rejected", "duplicate")
DUPLICATE_RULES = ("email", "phone", "name_company")
DUPLICATE_ACTIONS = ("merge", "link")
ROUTE_FILTERS = ("territory", "product", "capacity", "working_hours", "absence", "preferred", "account_owner")
DEFAULT_ROUTE_FILTERS = ("territory", "product", "capacity", "absence")
CHOOSERS = ("round_robin", "weighted", "nearest", "performance")
OFFER_MODES = ("sequential", "broadcast", "sequential_then_broadcast")
CONFLICT_RULES = ("leadwire_wins", "crm_wins", "newest_wins")
DEFAULT_REQUIRED = ("name", "company", "email", "phone")
MERGE_POLICIES = ("keep", "fill_blank", "newest")  # what a repeat touch does to a stored lead's field
IDENTITY_FIELDS = ("email", "first_name", "last_name", "phone", "company")  # never overwritten once a rep owns it
OUTSIDE_HOURS = ("hold", "offer_anyway", "escalate")
ON_WON = ("close_siblings", "reroute_siblings", "keep_siblings")
CRMS = ("hubspot", "salesforce")
SYSTEM_OF_RECORD_FIELDS = ("owner",)  # fields whose CRM of record a flow may name (crm.system_of_record)

OFFER_WINDOW_DEFAULT = timedelta(minutes=5)
OFFER_WINDOW_MIN = timedelta(minutes=2)
OFFER_WINDOW_MAX = timedelta(weeks=2)

# Canonical lead fields (columns of connector.store.models.Lead that a mapping may fill).
LEAD_FIELDS = (
    "email", "phone", "first_name", "last_name", "company", "company_key", "company_domain", "title",
    "country", "region", "city", "postal_code", "street", "latitude", "longitude", "product", "campaign",
    "budget", "authority", "need", "timing", "salesforce_id", "hubspot_id", "attributes",
)

BANT_FIELDS = ("budget", "authority", "need", "timing")


@dataclass(frozen=True)
class Condition:
    """A compiled `when`: `test(facts)` is True when it holds. `text` is how it reads in reasons."""

    test: Callable[[dict], bool]
    text: str
    # for overlap analysis: {field: ("set", frozenset) | ("range", lo, lo_incl, hi, hi_incl)} if a plain conjunction
    constraints: dict[str, tuple] | None = None
    always: bool = False
    fields: frozenset[str] = frozenset()  # the facts it reads ('country', 'attributes.role', 'mql_level', ...)


@dataclass(frozen=True)
class FieldRule:
    """How one canonical field is filled from a payload."""

    target: str
    sources: tuple[str, ...] = ()
    concat: tuple[str, ...] = ()
    sep: str = " "
    const: Any = None
    has_const: bool = False
    default: Any = None
    value_map: dict | None = None
    map_otherwise: str = "keep"  # keep | drop | error
    type: str | None = None
    normalize: str | None = None
    line: int = 0


@dataclass(frozen=True)
class SplitRule:
    """Split one payload value (a full name) into two fields."""

    source: str
    into: tuple[str, str]
    at: str = "last"  # last: "Mary Ann Smith" → ("Mary Ann", "Smith"); first: → ("Mary", "Ann Smith")


@dataclass(frozen=True)
class Mapping:
    """A source mapping file: payload → canonical lead fields."""

    file: str
    fields: tuple[FieldRule, ...]
    splits: tuple[SplitRule, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    """One place leads come from."""

    name: str
    kind: str
    mapping: Mapping
    mapping_file: str
    secret_env: str | None = None
    default_country: str | None = None
    required: list[str] = field(default_factory=lambda: list(DEFAULT_REQUIRED))


@dataclass(frozen=True)
class Range:
    low: float | None
    high: float | None
    priority: int


@dataclass(frozen=True)
class Attribute:
    """A scored attribute: the field it reads, its weight in its section, and choice priorities (-10..10)."""

    name: str
    field: str
    weight: float
    choices: dict[str, int]
    ranges: tuple[Range, ...] = ()
    default: int = 0


@dataclass(frozen=True)
class EventRule:
    """Points (on the -10..10 priority scale) per behavioural event, optionally decaying with age."""

    type: str
    points: float
    half_life: timedelta | None = None
    max_count: int | None = None
    within: timedelta | None = None


@dataclass(frozen=True)
class Section:
    """A scoring section (demographic or behavioural) with its share of the 100 points."""

    name: str
    weight: float
    attributes: tuple[Attribute, ...]
    events: tuple[EventRule, ...] = ()
    events_weight: float = 0.0

    @property
    def attribute_total(self) -> float:
        return sum(a.weight for a in self.attributes) + (self.events_weight if self.events else 0.0)


@dataclass(frozen=True)
class Scoring:
    sections: tuple[Section, ...]
    thresholds: tuple[int, int, int]  # minimum score for MQL 1, 2, 3


@dataclass(frozen=True)
class QualifyRule:
    when: Condition | None
    outcome: str  # routed | nurture | rejected
    stream: str | None = None
    reason: str | None = None
    line: int = 0


@dataclass(frozen=True)
class DuplicateSpec:
    rules: tuple[str, ...] = DUPLICATE_RULES
    name_threshold: float = 90.0
    company_threshold: float = 85.0
    action: str = "merge"
    # field -> keep | fill_blank | newest (default newest); identity fields of an owned lead are only proposed
    merge: dict[str, str] = field(default_factory=dict)

    def merge_policy(self, name: str) -> str:
        return self.merge.get(name, "newest")


@dataclass(frozen=True)
class AccountSpec:
    """The company-wide view: who owns an account, and what its other leads (siblings) do meanwhile."""

    owner_on_accept: bool = True     # the first rep to accept a lead of an ownerless account owns it
    route_to_owner: bool = True      # later leads of the account are offered to the owner first
    hold_days: int = 90              # the owner holds the account this long after their last accept
    on_won: str = "close_siblings"   # close_siblings | reroute_siblings | keep_siblings


@dataclass(frozen=True)
class TeamRule:
    when: Condition | None
    team: str


@dataclass(frozen=True)
class RouteSpec:
    teams: tuple[TeamRule, ...]
    filters: tuple[str, ...] = DEFAULT_ROUTE_FILTERS
    chooser: str = "round_robin"
    fallback: str | None = None
    allow_outside_hours: bool = False


@dataclass(frozen=True)
class OfferSpec:
    mode: str = "sequential"
    window: timedelta = OFFER_WINDOW_DEFAULT
    sequential_count: int = 3
    max_offers: int | None = None
    hide_contact_until_accepted: bool = True
    escalate_to: str | None = None
    outside_hours: str = "hold"  # hold | offer_anyway | escalate: when no eligible rep is working now

    def as_dict(self) -> dict:
        return {"mode": self.mode, "window_seconds": int(self.window.total_seconds()),
                "sequential_count": self.sequential_count, "max_offers": self.max_offers,
                "hide_contact_until_accepted": self.hide_contact_until_accepted, "escalate_to": self.escalate_to,
                "outside_hours": self.outside_hours}


@dataclass(frozen=True)
class Cadence:
    first_after: timedelta = timedelta(days=2)
    every: timedelta = timedelta(days=7)
    max_requests: int = 4


@dataclass(frozen=True)
class FeedbackSpec:
    first_after: timedelta = timedelta(days=2)
    every: timedelta = timedelta(days=7)
    max_requests: int = 4
    until_level: int = 3
    escalate_after: int = 2
    per_product: dict[str, Cadence] = field(default_factory=dict)
    statuses: tuple[str, ...] = ("contacted", "meeting_set", "proposal", "negotiation")
    lost_reasons: tuple[str, ...] = ("price", "competitor", "no_budget", "no_response", "timing")
    lost_to_nurture: str | None = None
    # per CRM, the CRM status (picklist value) written for a pursuit status, "won" or "lost"; "" leaves it unchanged
    crm_status: dict[str, dict[str, str]] = field(default_factory=dict)

    def cadence(self, product: str | None) -> Cadence:
        """The cadence for a lead's product (per_product override, else the flow's)."""
        if product and product in self.per_product:
            return self.per_product[product]
        return Cadence(self.first_after, self.every, self.max_requests)


@dataclass(frozen=True)
class CrmField:
    field: str  # Leadwire field
    target: str  # CRM field name
    conflict: str = "leadwire_wins"


@dataclass(frozen=True)
class CrmMapping:
    file: str
    object: str
    fields: tuple[CrmField, ...]


@dataclass(frozen=True)
class CrmSpec:
    hubspot: CrmMapping | None = None
    salesforce: CrmMapping | None = None
    outcomes: bool = True  # write every decision (score, MQL level, status, stream, owner), not only accept/feedback
    # field -> the CRM whose changes of it win and are copied to the other CRM (e.g. {"owner": "salesforce"})
    system_of_record: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    name: str
    when: Condition | None
    qualify: tuple[QualifyRule, ...]
    duplicates: DuplicateSpec
    account_match: bool = True
    route: RouteSpec | None = None
    offer: OfferSpec = field(default_factory=OfferSpec)
    feedback: FeedbackSpec = field(default_factory=FeedbackSpec)
    crm: CrmSpec = field(default_factory=CrmSpec)
    line: int = 0
    account: AccountSpec = field(default_factory=AccountSpec)


RETENTION_KINDS = ("inbox_payloads", "rejected_payloads", "timelines", "emails", "closed_leads")
CONSENT_STEPS = ("crm", "feedback")  # what a person's opt-out can withhold: CRM export, feedback e-mails


@dataclass(frozen=True)
class Retention:
    """How long each kind of personal data is kept (None: for ever); the tick's retention step purges."""

    inbox_payloads: timedelta | None = None  # raw bodies of processed inbox rows: blanked
    rejected_payloads: timedelta | None = None  # inbox rows refused or given up on: deleted
    timelines: timedelta | None = None  # timeline events (audit events of erasures are kept)
    emails: timedelta | None = None  # e-mails sent or given up on
    closed_leads: timedelta | None = None  # won, lost, closed, rejected and duplicate leads: anonymised

    def ages(self) -> dict[str, timedelta]:
        """The kinds that have an age, with it."""
        return {kind: age for kind in RETENTION_KINDS if (age := getattr(self, kind)) is not None}


@dataclass(frozen=True)
class Consent:
    """Who has opted out (a condition on the lead's fields) and what Leadwire then does not do for them."""

    opted_out: Condition | None = None
    withhold: tuple[str, ...] = CONSENT_STEPS

    def withholds(self, step: str, facts: dict[str, Any]) -> bool:
        """True when `step` (one of CONSENT_STEPS) must not run for a lead with these fields."""
        return self.opted_out is not None and step in self.withhold and bool(self.opted_out.test(facts))


@dataclass(frozen=True)
class Spec:
    """A loaded, validated flows.yaml."""

    file: str
    version: int
    sources: dict[str, SourceSpec]
    scoring: Scoring
    flows: tuple[Flow, ...]
    nurture_streams: tuple[str, ...]
    default_stream: str
    scorer: Any = field(default=None, compare=False, repr=False)  # scoring.Scorer, compiled at load
    hash: str = ""  # of flows.yaml and every file it names: recorded with each decision made under it
    retention: Retention = field(default_factory=Retention)
    consent: Consent = field(default_factory=Consent)

    def flow(self, name: str) -> Flow:
        """The flow called `name` (NotFound otherwise)."""
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise NotFound(f"no flow named {name!r}")
