"""A repeat touch merged into a stored lead, field by field (flows.yaml `duplicates.merge`). Pure.

Per field, the flow's policy (DuplicateSpec.merge_policy, default newest):
    newest      a non-blank incoming value replaces the stored one
    fill_blank  the incoming value is taken only where the stored one is blank
    keep        the stored value stays: a repeat touch never changes it
A blank incoming value (None, "", [], {}) never changes anything. `attributes` merge key by key under
the `attributes.NAME` policies, except `attributes.events`, which is always appended to (merge_events).
Identity fields (IDENTITY_FIELDS, and company_key / company_domain, derived from them) of a lead a rep
owns are never overwritten: a different incoming value comes back in `proposed` instead, whatever the
field's rule (a blank stored value is filled as the rule says: that overwrites nothing).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.flows.model import IDENTITY_FIELDS, DuplicateSpec

OWNED_IDENTITY = frozenset(IDENTITY_FIELDS) | {"company_key", "company_domain"}
POLICY_OF = {"company_key": "company"}  # a derived field follows the field it is derived from
EVENTS = "events"


@dataclass(frozen=True)
class Merged:
    """What a repeat touch does to a stored lead."""

    changes: dict[str, Any]       # column -> value to set (for attributes: the whole merged dict)
    changed: tuple[str, ...]      # what changed, by field name: "title", "attributes.form", "attributes.events"
    proposed: dict[str, Any]      # identity field of an owned lead -> the incoming value, not applied
    events_added: tuple[dict, ...] = ()


def blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _take(policy: str, stored: Any, incoming: Any) -> bool:
    """Whether the incoming (non-blank) value replaces the stored one under `policy`."""
    if policy == "keep":
        return False
    if policy == "fill_blank":
        return blank(stored)
    return True  # newest


def event_key(event: Mapping[str, Any]) -> tuple[str, Any]:
    return str(event.get("type")), event.get("at")


def merge_events(stored: Any, incoming: Any, now: datetime) -> tuple[list[dict], list[dict]]:
    """(all events, the ones added): incoming events appended to the stored ones, oldest first.

    An incoming event without a time happened at this touch (`at` = now). An event equal in type and
    time to a stored one is the same event sent again and is not added twice (as a multiset: three
    stored email_opened at one time absorb three incoming ones, the fourth is added).
    """
    kept = [dict(e) for e in stored if isinstance(e, dict)] if isinstance(stored, list) else []
    seen = Counter(event_key(e) for e in kept)
    stamp = now.astimezone(UTC).isoformat()
    added: list[dict] = []
    for event in incoming if isinstance(incoming, list) else []:
        if not isinstance(event, dict) or not event.get("type"):
            continue
        event = {**event, "at": event.get("at") or stamp}
        key = event_key(event)
        if seen[key]:
            seen[key] -= 1
            continue
        added.append(event)
    return kept + added, added


def merge(stored: Mapping[str, Any], incoming: Mapping[str, Any], rules: DuplicateSpec, *, owned: bool,
          now: datetime) -> Merged:
    """Merge the `incoming` lead fields into the `stored` ones (both: column -> value, `attributes` a dict)."""
    changes: dict[str, Any] = {}
    changed: list[str] = []
    proposed: dict[str, Any] = {}
    added: list[dict] = []
    for name, value in incoming.items():
        if blank(value):
            continue
        current = stored.get(name)
        if name == "attributes":
            attributes, names, added = _merge_attributes(current or {}, value, rules, now)
            if names:
                changes[name] = attributes
                changed.extend(names)
            continue
        if current == value:
            continue
        if owned and name in OWNED_IDENTITY and not blank(current):
            if name in IDENTITY_FIELDS:
                proposed[name] = value
            continue
        if not _take(rules.merge_policy(POLICY_OF.get(name, name)), current, value):
            continue
        changes[name] = value
        changed.append(name)
    return Merged(changes, tuple(sorted(changed)), proposed, tuple(added))


def _merge_attributes(stored: Mapping[str, Any], incoming: Mapping[str, Any], rules: DuplicateSpec,
                      now: datetime) -> tuple[dict[str, Any], list[str], list[dict]]:
    merged = dict(stored)
    names: list[str] = []
    added: list[dict] = []
    for key, value in incoming.items():
        if key == EVENTS:
            merged[EVENTS], added = merge_events(stored.get(EVENTS), value, now)
            if added:
                names.append(f"attributes.{EVENTS}")
            continue
        if blank(value) or stored.get(key) == value:
            continue
        if _take(rules.merge_policy(f"attributes.{key}"), stored.get(key), value):
            merged[key] = value
            names.append(f"attributes.{key}")
    return merged, names, added
