"""An index of reps by team, territory and product, so a routing decision looks at the few reps that
could take a lead instead of every rep in the network (pure; built once per snapshot of reps)."""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from connector.flows.routing_strategies import field

CELL_DEG = 1.0  # geo grid: 1 degree cells (~111 km north-south)
PREFIX_KEY = 3  # postal prefixes are indexed by (country, their first 3 characters)
ANY = "*"


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return int(math.floor(lat / CELL_DEG)), int(math.floor(lon / CELL_DEG))


def _cells_within(lat: float, lon: float, radius_km: float) -> Iterable[tuple[int, int]]:
    """Every grid cell a circle of radius_km around (lat, lon) may touch."""
    dlat = radius_km / 111.0
    dlon = radius_km / max(1.0, 111.32 * math.cos(math.radians(min(89.0, abs(lat)))))
    (la0, lo0), (la1, lo1) = _cell(lat - dlat, lon - dlon), _cell(lat + dlat, lon + dlon)
    for la in range(la0, la1 + 1):
        for lo in range(lo0, lo1 + 1):
            yield la, lo


class RepIndex:
    """Reps keyed by (team, territory key); the product is checked on the narrowed set.

    `candidates(lead, team=..., territory=True, product=True)` returns a superset of the reps whose
    territory and product could match — the exact rules still run on each (routing_strategies).
    Territory keys: "c:US", "r:US-CA", "p:US:941" / "p::94" (country scope and up to 3 characters of a
    postal prefix), "g:lat,lon"
    grid cells under a radius, and "*" for reps without a territory.
    """

    def __init__(self, reps: Iterable[Any]):
        self.reps = list(reps)
        self.by_id = {field(r, "id"): r for r in self.reps}
        self._terr: dict[tuple[str | None, str], list[Any]] = defaultdict(list)
        self._by_team: dict[str | None, list[Any]] = defaultdict(list)
        for rep in self.reps:
            team = field(rep, "team")
            self._by_team[team].append(rep)
            for key in self._territory_keys(rep):
                self._terr[(team, key)].append(rep)

    @staticmethod
    def _territory_keys(rep: Any) -> set[str]:
        keys = {f"c:{c.upper()}" for c in field(rep, "countries") or []}
        keys |= {f"r:{r.upper()}" for r in field(rep, "regions") or []}
        for prefix in field(rep, "postal_prefixes") or []:
            scope, _, digits = str(prefix).upper().replace(" ", "").rpartition(":")
            keys.add(f"p:{scope}:{digits[:PREFIX_KEY]}" if digits else ANY)
        lat, lon, radius = field(rep, "latitude"), field(rep, "longitude"), field(rep, "radius_km")
        if radius and lat is not None and lon is not None:
            keys |= {f"g:{la},{lo}" for la, lo in _cells_within(lat, lon, radius)}
        return keys or {ANY}

    def teams(self) -> list[str | None]:
        return list(self._by_team)

    def team(self, team: str | None) -> list[Any]:
        """Every rep of a team (all reps when team is None)."""
        return self.reps if team is None else self._by_team.get(team, [])

    def candidates(self, lead: Any, *, team: str | None = None, territory: bool = True,
                   product: bool = True) -> list[Any]:
        """Reps that could match the lead's territory and product, in rep id order."""
        teams = [team] if team is not None else list(self._by_team)
        if not territory or not self._lead_has_geography(lead):
            pool = [r for t in teams for r in self._by_team.get(t, [])]
        else:
            keys = self._lead_keys(lead)
            seen: dict[int, Any] = {}
            for t in teams:
                for key in keys:
                    for rep in self._terr.get((t, key), ()):
                        seen[field(rep, "id")] = rep
            pool = list(seen.values())
        wanted = field(lead, "product")
        if product and wanted:
            pool = [r for r in pool if not field(r, "products") or wanted in field(r, "products")]
        return sorted(pool, key=lambda r: field(r, "id"))

    @staticmethod
    def _lead_has_geography(lead: Any) -> bool:
        return any(field(lead, n) for n in ("country", "region", "postal_code")) or \
            (field(lead, "latitude") is not None and field(lead, "longitude") is not None)

    @staticmethod
    def _lead_keys(lead: Any) -> list[str]:
        keys = [ANY]
        if field(lead, "country"):
            keys.append(f"c:{field(lead, 'country').upper()}")
        if field(lead, "region"):
            keys.append(f"r:{field(lead, 'region').upper()}")
        postal = (field(lead, "postal_code") or "").replace(" ", "").upper()
        country = (field(lead, "country") or "").upper()
        for k in range(1, min(PREFIX_KEY, len(postal)) + 1):
            keys += [f"p:{country}:{postal[:k]}", f"p::{postal[:k]}"] if country else [f"p::{postal[:k]}"]
        lat, lon = field(lead, "latitude"), field(lead, "longitude")
        if lat is not None and lon is not None:
            la, lo = _cell(lat, lon)
            keys.append(f"g:{la},{lo}")
        return keys
