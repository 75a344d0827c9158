"""The routing plan: which team, and every rep of it kept or passed over with the reason.

The engine only plans; the routing use case (connector.offers / routing strategies) applies the
chooser with its stored state (round-robin cursors, weights) to the kept candidates, in plan order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.flows.model import Flow, OfferSpec, RouteSpec

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
    """Reps grouped by team once per context, so planning touches only the chosen team."""

    def __init__(self, reps: list[RepView]):
        self.by_id = {r.id: r for r in reps}
        self.by_team: dict[str | None, list[RepView]] = {}
        for rep in reps:
            self.by_team.setdefault(rep.team, []).append(rep)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(a)))


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local(now: datetime, tz: str, cache: dict) -> tuple[str, time]:
    key = (tz, now)
    hit = cache.get(key)
    if hit is None:
        zone = _zone(tz) or _zone("UTC")
        local = now.astimezone(zone)
        hit = cache[key] = (_DAYS[local.weekday()], local.time())
    return hit


def _in_hours(rep: RepView, now: datetime, cache: dict) -> bool:
    if not rep.working_hours:
        return True
    day, at = _local(now, rep.timezone, cache)
    span = rep.working_hours.get(day)
    if not span or len(span) != 2:
        return False
    try:
        return time.fromisoformat(span[0]) <= at < time.fromisoformat(span[1])
    except (TypeError, ValueError):
        return False


def _absent(rep: RepView, now: datetime) -> bool:
    if rep.absent_from is None and rep.absent_until is None:
        return False
    return (rep.absent_from is None or rep.absent_from <= now) and (rep.absent_until is None or now < rep.absent_until)


def _check(rep: RepView, lead: dict, route: RouteSpec, now: datetime, cache: dict) -> tuple[str | None, float | None]:
    """(reason the rep is passed over or None, distance in km when known)."""
    distance = None
    if rep.latitude is not None and lead.get("latitude") is not None and lead.get("longitude") is not None:
        distance = km(lead["latitude"], lead["longitude"], rep.latitude, rep.longitude or 0.0)
    if not rep.active:
        return "inactive", distance
    for name in route.filters:
        if name == "territory":
            country, region, postal = lead.get("country"), lead.get("region"), lead.get("postal_code")
            if rep.countries and country and country not in rep.countries:
                return f"territory: does not cover country {country}", distance
            if rep.regions and region and region not in rep.regions:
                return f"territory: does not cover region {region}", distance
            if rep.postal_prefixes and postal and not str(postal).startswith(tuple(rep.postal_prefixes)):
                return f"territory: does not cover postal code {postal}", distance
            if rep.radius_km is not None and distance is not None and distance > rep.radius_km:
                return f"territory: {distance:.0f} km away, radius {rep.radius_km:g} km", distance
        elif name == "product":
            product = lead.get("product")
            if rep.products and product and product not in rep.products:
                return f"product: does not sell {product}", distance
        elif name == "capacity":
            if rep.open_offers >= rep.max_open_offers:
                return f"capacity: {rep.open_offers}/{rep.max_open_offers} open offers", distance
            if rep.open_leads >= rep.max_open_leads:
                return f"capacity: {rep.open_leads}/{rep.max_open_leads} open leads", distance
        elif name == "absence":
            if _absent(rep, now):
                return "absent", distance
        elif name == "working_hours":
            if not route.allow_outside_hours and not _in_hours(rep, now, cache):
                return "outside working hours", distance
    return None, distance


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
    members = list(book.by_team.get(team, ())) if team else []
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
        reasons.append(f"routing: {len(kept)} of {len(members)} reps kept ({route.chooser}); first: rep {kept[0][1].rep_id}"
                       f" ({kept[0][1].reason})")
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
    from connector.flows.routing_strategies import distance_km, rank

    ranked = rank(members, facts, now, filters=route.filters, chooser=route.chooser,
                  allow_outside_hours=route.allow_outside_hours, account_owner_id=owner_id)
    return tuple(Candidate(r.rep_id, r.kept, r.reason, distance_km(book.by_id[r.rep_id], facts)) for r in ranked)


def _chooser_key(chooser: str, rep: RepView, distance: float | None) -> tuple[Any, ...]:
    if chooser == "nearest":
        return (distance if distance is not None else float("inf"), rep.id)
    if chooser == "performance":
        return (-((rep.win_rate or 0.0) * 0.6 + (rep.acceptance_rate or 0.0) * 0.4), rep.id)
    if chooser == "weighted":
        return (-rep.weight, rep.id)
    return (rep.open_leads, rep.id)
