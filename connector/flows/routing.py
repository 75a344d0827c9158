"""The routing plan: which team, and every rep of it kept or passed over with the reason.

The engine only plans; the routing use case (connector.offers / routing strategies) applies the
chooser with its stored state (round-robin cursors, weights) to the kept candidates, in plan order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from connector.flows import after_hours
from connector.flows.model import Flow, OfferSpec, RouteSpec
from connector.flows.ownership import ONLY_OWNER, OwnerRule
from connector.flows.rep_index import RepIndex
from connector.flows.routing_strategies import distance_km, rank


@dataclass(frozen=True)
class RepView:
    """A rep as the engine sees it: the Rep row's fields plus current load and performance."""

    id: int
    email: str
    name: str
    team: str | None = None
    partner: str | None = None
    manager_email: str | None = None
    salesforce_user_id: str | None = None
    hubspot_owner_id: str | None = None
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    postal_prefixes: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    products: tuple[str, ...] = ()
    preferred: bool = False
    weight: float = 1.0
    max_open_offers: int = 5
    max_open_leads: int = 50
    timezone: str = "UTC"
    working_hours: dict | None = None
    absent_from: datetime | None = None
    absent_until: datetime | None = None
    active: bool = True
    created_at: datetime | None = None
    open_offers: int = 0
    open_leads: int = 0
    acceptance_rate: float | None = None
    win_rate: float | None = None


@dataclass(frozen=True)
class Candidate:
    rep_id: int
    kept: bool
    reason: str
    distance_km: float | None = None

    def as_dict(self) -> dict:
        out = {"rep_id": self.rep_id, "kept": self.kept, "reason": self.reason}
        if self.distance_km is not None:
            out["distance_km"] = round(self.distance_km, 1)
        return out


@dataclass(frozen=True)
class RoutingPlan:
    """The team, the ordered candidates (kept ones first, in preference order), and how to offer."""

    team: str | None
    candidates: tuple[Candidate, ...]
    strategies: tuple[str, ...]
    chooser: str
    fallback: str | None
    allow_outside_hours: bool
    offer: OfferSpec = field(default_factory=OfferSpec)
    hold_until: datetime | None = None  # nobody kept: offer the lead then (outside_hours: hold)
    hold_note: str | None = None        # "held until 2026-01-06 09:00 Europe/Berlin (Jo Rep's day starts)"
    linked_to: int | None = None        # the account's lead being worked, that this one waits behind
    account_owner: int | None = None    # the rep the account rule puts first (flows.ownership)

    @property
    def kept(self) -> list[int]:
        return [c.rep_id for c in self.candidates if c.kept]

    def as_dict(self) -> dict:
        out: dict = {"team": self.team, "candidates": [c.as_dict() for c in self.candidates],
               "strategies": list(self.strategies), "chooser": self.chooser, "fallback": self.fallback,
               "allow_outside_hours": self.allow_outside_hours, "offer": self.offer.as_dict()}
        if self.hold_until is not None:
            out.update(hold_until=self.hold_until.isoformat(), hold_note=self.hold_note)
        if self.linked_to is not None:
            out["linked_to"] = self.linked_to
        if self.account_owner is not None:
            out["account_owner"] = self.account_owner
        return out


Loads = Callable[[list[int]], Mapping[int, Mapping[str, Any]]]  # rep ids -> their load and performance fields


class RepBook:
    """Reps indexed once per snapshot by team, territory and product (connector.flows.rep_index), so
    planning looks only at the reps of the chosen team that could cover the lead.

    Built from static views, a book takes `loads` (rep ids -> open_offers, open_leads, acceptance_rate,
    win_rate): load figures are then asked for only for the reps a plan ranks (`loaded`), and one
    index serves many leads (`for_lead` shares it with a fresh load cache)."""

    def __init__(self, reps: Iterable[RepView], loads: Loads | None = None):
        reps = list(reps)
        self.by_id = {r.id: r for r in reps}
        self.by_team: dict[str | None, list[RepView]] = {}
        for rep in reps:
            self.by_team.setdefault(rep.team, []).append(rep)
        self.index = RepIndex(reps)
        self._memo: dict[tuple, list[RepView]] = {}
        self._loads = loads
        self._loaded: dict[int, RepView] = {}

    def for_lead(self, loads: Loads | None) -> RepBook:
        """The same reps and index with `loads` and an empty load cache (one lead's current figures)."""
        book = object.__new__(RepBook)
        book.by_id, book.by_team, book.index, book._memo = self.by_id, self.by_team, self.index, self._memo
        book._loads, book._loaded = loads, {}
        return book

    def loaded(self, reps: Iterable[RepView]) -> list[RepView]:
        """`reps` with their current load figures (as given when the book was built without `loads`)."""
        reps = list(reps)
        if self._loads is None:
            return reps
        missing = [r.id for r in reps if r.id not in self._loaded]
        if missing:
            figures = self._loads(missing)
            for rid in missing:
                self._loaded[rid] = replace(self.by_id[rid], **figures.get(rid, {}))
        return [self._loaded[r.id] for r in reps]

    def members(self, team: str, facts: dict, route: RouteSpec) -> list[RepView]:
        """The team's reps whose territory and product could match (all of them without those filters);
        memoised per team, territory keys and product, which repeat from lead to lead."""
        territory, product = "territory" in route.filters, "product" in route.filters
        if facts.get("latitude") is not None:
            return self.index.candidates(facts, team=team, territory=territory, product=product)
        postal = (facts.get("postal_code") or "").replace(" ", "").upper()[:2]
        key = (team, territory, product, facts.get("country"), facts.get("region"), postal, facts.get("product"))
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self.index.candidates(facts, team=team, territory=territory, product=product)
        return found


def team_for(route: RouteSpec, facts: dict) -> tuple[str | None, str]:
    """The first team rule that matches, and the reason."""
    for rule in route.teams:
        if rule.when is None:
            return rule.team, f"team {rule.team}"
        if rule.when.test(facts):
            return rule.team, f"team {rule.team} because {rule.when.text}"
    return None, "no team rule matched"


def plan(flow: Flow, facts: dict, book: RepBook, now: datetime, owner_id: int | None,
         tz_cache: dict, rule: OwnerRule | None = None) -> tuple[RoutingPlan | None, list[str]]:
    """The routing plan for a lead the flow routes, plus reasons to explain it.

    `owner_id` goes first under the route's "account_owner" filter; an account `rule` (flows.ownership)
    puts its rep first even without that filter, and with `rule.only` keeps nobody else. When working
    hours are all that keeps every rep from the lead, the flow's offer.outside_hours decides
    (flows.after_hours): a hold (`hold_until`), the reps kept anyway, or nobody (escalation).
    """
    route = flow.route
    if route is None:
        return None, ["flow has no route section: nothing to offer"]
    team, why = team_for(route, facts)
    reasons = [f"routing: {why}"]
    members = list(book.members(team, facts, route)) if team else []  # a copy: the book memoises its lists
    outside = len(book.by_team.get(team, ())) - len(members) if team else 0
    if outside:
        reasons.append(f"routing: {outside} reps of team {team} do not cover the lead's territory or product")
    if rule is not None and rule.rep_id not in book.by_id:
        reasons.append(f"routing: account owner rep {rule.rep_id} is not a known rep; routing as usual")
        rule = None
    if rule is not None:
        owner_id = rule.rep_id
        reasons.append(f"routing: {rule.reason}")
    use_owner = owner_id is not None and (rule is not None or "account_owner" in route.filters)
    if use_owner and owner_id in book.by_id and all(r.id != owner_id for r in members):
        members.insert(0, book.by_id[owner_id])
    members = book.loaded(members)
    pick = _Pick(route, facts, now, book, owner_id if use_owner else None, rule is not None and rule.only, team)
    candidates, fell_back, counted = pick(members, route.allow_outside_hours)
    if fell_back:
        reasons.append(f"routing: nobody in team {team} is eligible; trying fallback team {route.fallback}")
    hold = None
    if not any(c.kept for c in candidates) and after_hours.applies(route.filters, route.allow_outside_hours):
        waiting, _, _ = pick(members, True)
        candidates, hold, note = after_hours.resolve(flow.offer.outside_hours, candidates, waiting, book.by_id, now)
        if note:
            reasons.append(f"routing: {note}")
    kept = [c for c in candidates if c.kept]
    passed = [c for c in candidates if not c.kept]
    strategies = tuple(route.filters) + (route.chooser,)
    if kept:
        reasons.append(f"routing: {len(kept)} of {counted} reps kept ({route.chooser}); first: rep {kept[0].rep_id}"
                       f" ({kept[0].reason})")
    elif hold is None:
        reasons.append(f"routing: no rep of {counted} is eligible; fallback queue {route.fallback or '(none)'}")
    if passed:
        counts: dict[str, int] = {}
        for c in passed:
            counts[c.reason.split(":")[0]] = counts.get(c.reason.split(":")[0], 0) + 1
        reasons.append("routing: passed over " + ", ".join(f"{n} for {k}" for k, n in sorted(counts.items())))
    return RoutingPlan(team, candidates, strategies, route.chooser, route.fallback, route.allow_outside_hours,
                       flow.offer, hold_until=hold.until if hold else None, hold_note=hold.note if hold else None,
                       linked_to=rule.linked_to if rule is not None else None,
                       account_owner=rule.rep_id if rule is not None else None), reasons


@dataclass(frozen=True)
class _Pick:
    """Ranks a lead's members (then the fallback team's reps when none is kept, unless only the owner
    may have it): returns (candidates, whether the fallback team was tried, how many reps were counted)."""

    route: RouteSpec
    facts: dict
    now: datetime
    book: RepBook
    owner_id: int | None
    only_owner: bool
    team: str | None

    def __call__(self, members: list[RepView], allow_outside_hours: bool) -> tuple[tuple[Candidate, ...], bool, int]:
        route, book = self.route, self.book
        filters = route.filters if self.owner_id is None or "account_owner" in route.filters \
            else (*route.filters, "account_owner")
        candidates = _ranked(route, filters, members, self.facts, self.now, self.owner_id, book, allow_outside_hours)
        if self.only_owner:
            return tuple(c if not c.kept or c.rep_id == self.owner_id else
                         Candidate(c.rep_id, False, f"{ONLY_OWNER}: offered only to its owner", c.distance_km)
                         for c in candidates), False, len(members)
        if not any(c.kept for c in candidates) and route.fallback in book.by_team and route.fallback != self.team:
            fallback = book.loaded(book.by_team[route.fallback])
            return _ranked(route, filters, fallback, self.facts, self.now, None, book,
                           allow_outside_hours) + candidates, True, len(fallback)
        return candidates, False, len(members)


def _ranked(route: RouteSpec, filters: tuple[str, ...], members: list[RepView], facts: dict, now: datetime,
            owner_id: int | None, book: RepBook, allow_outside_hours: bool) -> tuple[Candidate, ...]:
    """Filters then chooser, by the routing strategies (connector.flows.routing_strategies)."""
    ranked = rank(members, facts, now, filters=filters, chooser=route.chooser,
                  allow_outside_hours=allow_outside_hours, account_owner_id=owner_id)
    located = facts.get("latitude") is not None and facts.get("longitude") is not None
    return tuple(Candidate(r.rep_id, r.kept, r.reason, distance_km(book.by_id[r.rep_id], facts) if located else None)
                 for r in ranked)
