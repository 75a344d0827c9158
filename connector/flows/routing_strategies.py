"""Routing strategies (pure): eligibility and filter rules, then a chooser that orders the candidates.

Reps are read through attributes only (the engine's `RepView`: the Rep columns plus open_offers,
open_leads, acceptance_rate, win_rate); a lead is a mapping or an object with the canonical lead
fields. Time comes in as `now`. Nothing here touches a database: the round-robin cursor is applied
under a row lock by connector.routing_state, using `rotate` / `smooth_weighted` from this module.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EARTH_KM = 6371.0088
NEUTRAL_RATE = 0.5  # a rep with no history yet is ranked as average, neither first nor last


def field(lead: Any, name: str) -> Any:
    """A lead field from a mapping or an object (None when absent)."""
    if isinstance(lead, dict):
        return lead.get(name)
    return getattr(lead, name, None)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def _location(obj: Any) -> tuple[float, float] | None:
    lat, lon = field(obj, "latitude"), field(obj, "longitude")
    return (float(lat), float(lon)) if lat is not None and lon is not None else None


def distance_km(rep: Any, lead: Any) -> float | None:
    """Distance between a rep's base and the lead, or None when either has no location."""
    a, b = _location(rep), _location(lead)
    return haversine_km(*a, *b) if a and b else None


# ---- eligibility -------------------------------------------------------------------------------

def _parse_hhmm(value: str) -> time:
    hours, minutes = str(value).split(":")
    return time(int(hours) % 24, int(minutes)) if value != "24:00" else time(23, 59, 59, 999999)


def _ranges(spec: Any) -> list[tuple[time, time]]:
    """["09:00","17:00"] or [["09:00","12:00"],["13:00","17:00"]] → list of (start, end)."""
    if not spec:
        return []
    if isinstance(spec[0], str):
        spec = [spec]
    return [(_parse_hhmm(a), _parse_hhmm(b)) for a, b in spec]


def in_working_hours(rep: Any, now: datetime) -> bool:
    """True when `now` falls inside the rep's working hours in the rep's own time zone.

    working_hours None/empty means "always available"; a day missing from the mapping is a day off.
    An unknown time zone is read as UTC.
    """
    hours = field(rep, "working_hours")
    if not hours:
        return True
    weekday, clock = _local_time(field(rep, "timezone") or "UTC", now)
    return any(start <= clock < end for start, end in _ranges(hours.get(DAYS[weekday])))


@lru_cache(maxsize=256)
def zone(zone_name: str) -> ZoneInfo:
    """The time zone called `zone_name`; an unknown name is read as UTC."""
    try:
        return ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@lru_cache(maxsize=1024)
def _local_time(zone_name: str, now: datetime) -> tuple[int, time]:
    """(weekday, wall-clock time) of `now` in a time zone; reps sharing a zone share the conversion."""
    local = now.astimezone(zone(zone_name))
    return local.weekday(), local.time().replace(tzinfo=None)


def _starts(hours: dict, day: date) -> list[time]:
    """The start times of the rep's working ranges on `day`, earliest first (empty ranges left out)."""
    return sorted(start for start, end in _ranges(hours.get(DAYS[day.weekday()])) if start < end)


def next_working_start(rep: Any, now: datetime) -> datetime | None:
    """When the rep is next at work, at or after `now`, as aware UTC: `now` itself while the rep is
    working (or has no working hours: always available), else the start of the rep's next working range,
    found on the wall clock of the rep's own time zone (days off and weekends skipped; across a change
    of daylight saving time 09:00 stays 09:00 local). None when the working hours name no working day."""
    hours = field(rep, "working_hours")
    if not hours or in_working_hours(rep, now):
        return now
    tz = zone(field(rep, "timezone") or "UTC")
    local = now.astimezone(tz)
    for offset in range(8):  # a week ahead, and today's weekday once more
        day = local.date() + timedelta(days=offset)
        for start in _starts(hours, day):
            at = datetime.combine(day, start, tzinfo=tz)
            if at > local:
                return at.astimezone(UTC)
    return None


def starts_day(rep: Any, when: datetime) -> bool:
    """True when `when` is the start of the rep's first working range of that (local) day."""
    hours = field(rep, "working_hours") or {}
    local = when.astimezone(zone(field(rep, "timezone") or "UTC"))
    starts = _starts(hours, local.date())
    return bool(starts) and starts[0] == local.time().replace(tzinfo=None)


def local_label(when: datetime, zone_name: str | None) -> str:
    """`when` on the wall clock of a time zone, named: "2026-01-06 09:00 Europe/Berlin"."""
    name = zone_name or "UTC"
    return f"{when.astimezone(zone(name)):%Y-%m-%d %H:%M} {name}"


def is_absent(rep: Any, now: datetime) -> bool:
    """True when now is within the rep's out-of-office period (either end may be open)."""
    start, end = field(rep, "absent_from"), field(rep, "absent_until")
    if start is None and end is None:
        return False
    return (start is None or start <= now) and (end is None or now < end)


def capacity_reason(rep: Any) -> str | None:
    """Why the rep is at capacity, or None when it can take another offer."""
    if (field(rep, "open_offers") or 0) >= field(rep, "max_open_offers"):
        return f"at capacity: {field(rep, 'open_offers')} open offers (max {field(rep, 'max_open_offers')})"
    if (field(rep, "open_leads") or 0) >= field(rep, "max_open_leads"):
        return f"at capacity: {field(rep, 'open_leads')} open leads (max {field(rep, 'max_open_leads')})"
    return None


def territory_reason(rep: Any, lead: Any) -> str | None:
    """None when the lead lies in the rep's territory, else why not.

    A territory is a union of areas: countries (ISO alpha-2), regions (ISO 3166-2, e.g. "US-CA"),
    postal prefixes ("94" for any country, "US:94" for one) and a base location with a radius.
    A rep with no territory at all covers everywhere; a lead with no geography passes.
    """
    countries, regions, prefixes = field(rep, "countries") or [], field(rep, "regions") or [], \
        field(rep, "postal_prefixes") or []
    radius = field(rep, "radius_km")
    if not (countries or regions or prefixes or radius):
        return None
    country, region = (field(lead, "country") or "").upper(), (field(lead, "region") or "").upper()
    postal = (field(lead, "postal_code") or "").replace(" ", "").upper()
    if not (country or region or postal or _location(lead)):
        return None
    if country and country in {c.upper() for c in countries}:
        return None
    if region and region in {r.upper() for r in regions}:
        return None
    if postal:
        for prefix in prefixes:
            scope, _, digits = str(prefix).upper().rpartition(":")
            if postal.startswith(digits.replace(" ", "")) and (not scope or scope == country):
                return None
    if radius:
        km = distance_km(rep, lead)
        if km is not None and km <= radius:
            return None
        if km is not None:
            return f"outside territory: {km:.0f} km away (radius {radius:.0f} km)"
    where = ", ".join(x for x in (region or country, postal) if x) or "the lead's location"
    return f"outside territory: {where} not covered"


def product_reason(rep: Any, lead: Any) -> str | None:
    """None when the rep sells the lead's product (reps with no specialty sell everything)."""
    products = field(rep, "products") or []
    product = field(lead, "product")
    if not products or not product or product in products:
        return None
    return f"does not sell {product} (sells {', '.join(products)})"


def exclusion_reason(rep: Any, lead: Any, now: datetime, filters: Iterable[str], *,
                     allow_outside_hours: bool = False) -> str | None:
    """The first reason this rep cannot be offered the lead under `filters`, or None if eligible.

    Always applied: the rep is active. Filters (any of): territory, product, capacity, working_hours,
    absence. "preferred" and "account_owner" order candidates rather than exclude them.
    """
    filters = set(filters)
    if not field(rep, "active"):
        return "inactive"
    if "absence" in filters and is_absent(rep, now):
        return f"absent until {field(rep, 'absent_until'):%Y-%m-%d %H:%M} UTC" if field(rep, "absent_until") \
            else "absent"
    if "working_hours" in filters and not allow_outside_hours and not in_working_hours(rep, now):
        return f"outside working hours ({field(rep, 'timezone') or 'UTC'})"
    if "capacity" in filters and (why := capacity_reason(rep)):
        return why
    if "territory" in filters and (why := territory_reason(rep, lead)):
        return why
    if "product" in filters and (why := product_reason(rep, lead)):
        return why
    return None


# ---- choosers --------------------------------------------------------------------------------

def performance(rep: Any) -> float:
    """Acceptance and win rate (over the stats window) averaged; no history counts as average."""
    acc, win = field(rep, "acceptance_rate"), field(rep, "win_rate")
    return ((NEUTRAL_RATE if acc is None else acc) + (NEUTRAL_RATE if win is None else win)) / 2


def _nearness(rep: Any, lead: Any) -> tuple[int, float]:
    """Sort key for "nearest": by distance when both have a location, else by region, then country."""
    km = distance_km(rep, lead)
    if km is not None:
        return (0, km)
    region, country = field(lead, "region"), field(lead, "country")
    if region and region in (field(rep, "regions") or []):
        return (1, 0.0)
    if country and (country in (field(rep, "countries") or [])
                    or any(str(r).startswith(f"{country}-") for r in field(rep, "regions") or [])):
        return (2, 0.0)
    return (3, 0.0)


def chooser_key(chooser: str, lead: Any) -> Callable[[Any], Any]:
    """The sort key a chooser orders eligible reps by (smaller first). Ties keep rep id order."""
    if chooser == "nearest":
        return lambda rep: (_nearness(rep, lead), field(rep, "id"))
    if chooser == "performance":
        return lambda rep: (-performance(rep), field(rep, "id"))
    if chooser == "weighted":
        return lambda rep: (-(field(rep, "weight") or 0.0), field(rep, "id"))
    if chooser == "round_robin":
        return lambda rep: field(rep, "id")
    raise ValueError(f"unknown chooser {chooser!r}")


@dataclass(frozen=True)
class Ranked:
    """One rep considered for a lead: kept (eligible, in offer order) or passed over with the reason."""

    rep_id: int
    kept: bool
    reason: str


def rank(reps: Iterable[Any], lead: Any, now: datetime, *, filters: Sequence[str], chooser: str,
         allow_outside_hours: bool = False, account_owner_id: int | None = None) -> list[Ranked]:
    """Filter then order: kept candidates first in offer order, then the reps passed over.

    Order of the kept: the account owner first (filter "account_owner"), then preferred reps
    (filter "preferred"), then the chooser's order. Round robin and weighted are finally rotated
    under the pool's cursor lock when the offer is made (routing_state), not here.
    """
    key = chooser_key(chooser, lead)
    kept: list[tuple[Any, str | None]] = []
    passed: list[tuple[Any, str]] = []
    for rep in reps:
        why = exclusion_reason(rep, lead, now, filters, allow_outside_hours=allow_outside_hours)
        if why:
            passed.append((rep, why))
        else:
            kept.append((rep, why))
    owner_first = "account_owner" in filters and account_owner_id is not None
    pref_first = "preferred" in filters
    kept.sort(key=lambda pair: (not (owner_first and field(pair[0], "id") == account_owner_id),
                                not (pref_first and field(pair[0], "preferred")), key(pair[0])))
    out: list[Ranked] = []
    for rep, _ in kept:
        rid = field(rep, "id")
        if owner_first and rid == account_owner_id:
            reason = "account owner"
        elif pref_first and field(rep, "preferred"):
            reason = f"preferred; {_chooser_reason(chooser, rep, lead)}"
        else:
            reason = _chooser_reason(chooser, rep, lead)
        out.append(Ranked(rid, True, reason))
    if owner_first and account_owner_id is not None and account_owner_id not in {r.rep_id for r in out}:
        passed_owner = next((why for rep, why in passed if field(rep, "id") == account_owner_id), None)
        if passed_owner:
            out.append(Ranked(account_owner_id, False, f"account owner, but {passed_owner}"))
    out.extend(Ranked(field(rep, "id"), False, why) for rep, why in passed if field(rep, "id") != account_owner_id
               or not owner_first)
    return out


def _chooser_reason(chooser: str, rep: Any, lead: Any) -> str:
    if chooser == "nearest":
        km = distance_km(rep, lead)
        return f"{km:.0f} km away" if km is not None else "same region" if _nearness(rep, lead)[0] == 1 \
            else "same country" if _nearness(rep, lead)[0] == 2 else "no location to compare"
    if chooser == "performance":
        return f"performance {performance(rep):.2f}"
    if chooser == "weighted":
        return f"weight {field(rep, 'weight')}"
    return "round robin"


# ---- stateful choosers, applied under the cursor lock ------------------------------------------

def rotate(rep_ids: Sequence[int], last_id: int | None) -> list[int]:
    """Round robin: the ids in ascending order, starting with the first one after `last_id`."""
    ordered = sorted(rep_ids)
    if last_id is None:
        return ordered
    cut = next((i for i, rid in enumerate(ordered) if rid > last_id), 0)
    return ordered[cut:] + ordered[:cut]


def smooth_weighted(weights: dict[int, float], current: dict[str, float]) -> tuple[int, dict[str, float]]:
    """Smooth weighted round robin (as nginx): returns the chosen id and the new per-rep state.

    Over any sum(weights) consecutive picks each rep is chosen in proportion to its weight,
    spread out rather than in bursts. `current` is keyed by str(rep_id) (JSON-friendly).
    """
    if not weights:
        raise ValueError("no reps to choose from")
    total = sum(weights.values())
    state = {str(rid): current.get(str(rid), 0.0) + w for rid, w in weights.items()}
    chosen = max(sorted(weights), key=lambda rid: state[str(rid)])
    state[str(chosen)] -= total
    return chosen, state
