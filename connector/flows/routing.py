"""The routing plan: which team, and every rep of it kept or passed over with the reason.

The engine only plans; the routing use case (connector.offers / routing strategies) applies the
chooser with its stored state (round-robin cursors, weights) to the kept candidates, in plan order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from connector.flows.model import Flow, OfferSpec, RouteSpec
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

    @property
    def kept(self) -> list[int]:
        return [c.rep_id for c in self.candidates if c.kept]

    def as_dict(self) -> dict:
        return {"team": self.team, "candidates": [c.as_dict() for c in self.candidates],
                "strategies": list(self.strategies), "chooser": self.chooser, "fallback": self.fallback,
                "allow_outside_hours": self.allow_outside_hours, "offer": self.offer.as_dict()}


class RepBook:
    """Reps indexed once per context by team, territory and product (connector.flows.rep_index), so
    planning looks only at the reps of the chosen team that could cover the lead."""

    def __init__(self, reps: list[RepView]):
        self.by_id = {r.id: r for r in reps}
        self.by_team: dict[str | None, list[RepView]] = {}
        for rep in reps:
            self.by_team.setdefault(rep.team, []).append(rep)
        self.index = RepIndex(reps)
        self._memo: dict[tuple, list[RepView]] = {}

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
         tz_cache: dict) -> tuple[RoutingPlan | None, list[str]]:
    """The routing plan for a lead the flow routes, plus reasons to explain it."""
    route = flow.route
    if route is None:
        return None, ["flow has no route section: nothing to offer"]
    team, why = team_for(route, facts)
    reasons = [f"routing: {why}"]
    members = book.members(team, facts, route) if team else []
    outside = len(book.by_team.get(team, ())) - len(members) if team else 0
    if outside:
        reasons.append(f"routing: {outside} reps of team {team} do not cover the lead's territory or product")
    use_owner = "account_owner" in route.filters and owner_id is not None
    if use_owner and owner_id in book.by_id and all(r.id != owner_id for r in members):
        members.insert(0, book.by_id[owner_id])
    candidates = _ranked(route, members, facts, now, owner_id if use_owner else None, book)
    if not any(c.kept for c in candidates) and route.fallback in book.by_team and route.fallback != team:
        reasons.append(f"routing: nobody in team {team} is eligible; trying fallback team {route.fallback}")
        members = list(book.by_team[route.fallback])
        candidates = _ranked(route, members, facts, now, None, book) + candidates
    kept = [(None, c) for c in candidates if c.kept]
    passed = [c for c in candidates if not c.kept]
    strategies = tuple(route.filters) + (route.chooser,)
    if kept:
        first = kept[0][1]
        reasons.append(f"routing: {len(kept)} of {len(members)} reps kept ({route.chooser}); first: rep {first.rep_id}"
                       f" ({first.reason})")
    else:
        reasons.append(f"routing: no rep of {len(members)} is eligible; fallback queue {route.fallback or '(none)'}")
    if passed:
        counts: dict[str, int] = {}
        for c in passed:
            counts[c.reason.split(":")[0]] = counts.get(c.reason.split(":")[0], 0) + 1
        reasons.append("routing: passed over " + ", ".join(f"{n} for {k}" for k, n in sorted(counts.items())))
    return RoutingPlan(team, candidates, strategies, route.chooser, route.fallback, route.allow_outside_hours,
                       flow.offer), reasons


def _ranked(route: RouteSpec, members: list[RepView], facts: dict, now: datetime, owner_id: int | None,
            book: RepBook) -> tuple[Candidate, ...]:
    """Filters then chooser, by the routing strategies (connector.flows.routing_strategies)."""
    ranked = rank(members, facts, now, filters=route.filters, chooser=route.chooser,
                  allow_outside_hours=route.allow_outside_hours, account_owner_id=owner_id)
    located = facts.get("latitude") is not None and facts.get("longitude") is not None
    return tuple(Candidate(r.rep_id, r.kept, r.reason, distance_km(book.by_id[r.rep_id], facts) if located else None)
                 for r in ranked)
