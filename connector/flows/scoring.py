"""The scoring model of the seed lead-scoring template: weighted sections, attribute choices, events.

Arithmetic (docs/flows.md has a worked example):
    contribution(attribute) = section.weight × attribute.weight / Σ weights in the section × priority / 10
    priority(events)        = clamp(Σ points × 0.5 ** (age / half_life), -10, 10)
    score                   = clamp(round(Σ contributions), 0, 100)
    MQL level               = highest level whose threshold the score reaches (None below MQL 1)
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from connector.flows.conditions import KNOWN_FIELDS, getter, is_field
from connector.flows.model import Attribute, EventRule, Range, Scoring, Section
from connector.flows.yamlsrc import LDict, Problems, check_keys, did_you_mean, duration, expect

SECTIONS = ("demographic", "behavioural")
DEMOGRAPHIC_MAX = 50


def parse_scoring(node: Any, parent: LDict, problems: Problems) -> Scoring:
    """Validate the `scoring` section; weights and priorities are checked against the template's rules."""
    empty = Scoring((), (25, 50, 75))
    if node is None:
        return empty
    if not expect(node, LDict, parent, "scoring", "'scoring'", problems):
        return empty
    check_keys(node, SECTIONS + ("thresholds",), "scoring", problems, required=("thresholds",))
    sections = [s for s in (_section(name, node[name], node, problems) for name in SECTIONS if name in node) if s]
    total = sum(s.weight for s in sections)
    demo = next((s for s in sections if s.name == "demographic"), None)
    if demo and demo.weight > DEMOGRAPHIC_MAX:
        problems.at(node["demographic"], "weight",
                    f"the demographic section's weight is {demo.weight:g}%; it may not exceed {DEMOGRAPHIC_MAX}%")
    if sections and abs(total - 100) > 1e-9:
        problems.at(parent, "scoring", f"the scoring sections' weights total {total:g}%; they must total 100%")
    return Scoring(tuple(sections), _thresholds(node.get("thresholds"), node, problems))


def _thresholds(node: Any, parent: LDict, problems: Problems) -> tuple[int, int, int]:
    default = (25, 50, 75)
    if node is None or not expect(node, LDict, parent, "thresholds", "'thresholds'", problems):
        return default
    check_keys(node, ("mql1", "mql2", "mql3"), "thresholds", problems, required=("mql1", "mql2", "mql3"))
    values = []
    for key in ("mql1", "mql2", "mql3"):
        value = node.get(key, 0)
        if not expect(value, int, node, key, f"threshold {key}", problems) or not 0 <= value <= 100:
            if isinstance(value, int) and not isinstance(value, bool):
                problems.at(node, key, f"threshold {key} must be between 0 and 100")
            return default
        values.append(value)
    if not values[0] < values[1] < values[2]:
        problems.at(node, None, "thresholds must rise: mql1 < mql2 < mql3")
        return default
    return (values[0], values[1], values[2])


def _priority(value: Any, node: LDict, key: Any, problems: Problems, what: str) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or not -10 <= value <= 10:
        problems.at(node, key, f"{what} must be a whole number from -10 to 10, not {value!r}")
        return None
    return value


def _section(name: str, node: Any, parent: LDict, problems: Problems) -> Section | None:
    if not expect(node, LDict, parent, name, f"scoring.{name}", problems):
        return None
    check_keys(node, ("weight", "attributes", "events"), f"scoring.{name}", problems, required=("weight",))
    weight = node.get("weight", 0)
    if not expect(weight, (int, float), node, "weight", f"scoring.{name}.weight", problems) or weight < 0:
        weight = 0
    attributes = []
    attrs = node.get("attributes") or LDict()
    if expect(attrs, LDict, node, "attributes", f"scoring.{name}.attributes", problems):
        for attr_name, spec in attrs.items():
            attr = _attribute(f"{name}.{attr_name}", spec, attrs, attr_name, problems)
            if attr:
                attributes.append(attr)
    events: tuple[EventRule, ...] = ()
    events_weight = 0.0
    if "events" in node:
        events, events_weight = _events(node["events"], node, name, problems)
    if not attributes and not events:
        problems.at(node, None, f"scoring.{name} needs at least one attribute or events")
    return Section(name, float(weight), tuple(attributes), events, events_weight)


def _attribute(label: str, spec: Any, parent: LDict, key: str, problems: Problems) -> Attribute | None:
    if not expect(spec, LDict, parent, key, f"attribute {label}", problems):
        return None
    check_keys(spec, ("field", "weight", "choices", "ranges", "default", "match"), f"attribute {label}", problems,
               required=("field", "weight"))
    field = spec.get("field")
    ok = True
    if not is_field(field):
        problems.at(spec, "field", f"attribute {label}: unknown field {field!r}{did_you_mean(field, KNOWN_FIELDS)}")
        ok = False
    weight = spec.get("weight")
    if not expect(weight, (int, float), spec, "weight", f"attribute {label} weight", problems) or weight <= 0:
        if isinstance(weight, (int, float)) and not isinstance(weight, bool):
            problems.at(spec, "weight", f"attribute {label} weight must be above 0")
        ok = False
    choices: dict[str, int] = {}
    raw = spec.get("choices") or LDict()
    if expect(raw, LDict, spec, "choices", f"attribute {label} choices", problems):
        for choice, prio in raw.items():
            p = _priority(prio, raw, choice, problems, f"priority of {label} choice {choice!r}")
            if p is None:
                ok = False
            elif str(choice).casefold() in choices:
                problems.at(raw, choice, f"attribute {label}: choice {choice!r} is listed twice")
            else:
                choices[str(choice).casefold()] = p
    ranges = []
    for i, item in enumerate(spec.get("ranges") or []):
        if not expect(item, LDict, spec["ranges"], i, f"attribute {label} range", problems):
            ok = False
            continue
        check_keys(item, ("min", "max", "priority"), f"a range of {label}", problems, required=("priority",))
        p = _priority(item.get("priority"), item, "priority", problems, f"priority of a {label} range")
        low, high = item.get("min"), item.get("max")
        if p is None or any(v is not None and not isinstance(v, (int, float)) for v in (low, high)):
            ok = False
            continue
        ranges.append(Range(low, high, p))
    if not choices and not ranges:
        problems.at(spec, None, f"attribute {label} needs choices or ranges")
        ok = False
    default = _priority(spec.get("default", 0), spec, "default", problems, f"attribute {label} default")
    if spec.get("match", "exact") not in ("exact", "contains"):
        problems.at(spec, "match", f"attribute {label}: match must be exact or contains")
        ok = False
    if not ok or default is None:
        return None
    kind = Attribute if spec.get("match", "exact") == "exact" else _Contains
    return kind(label, field, float(weight), choices, tuple(ranges), default)


class _Contains(Attribute):
    """An attribute whose choices match as case-insensitive substrings, first listed wins (job titles)."""


def _events(node: Any, parent: LDict, section: str, problems: Problems) -> tuple[tuple[EventRule, ...], float]:
    if not expect(node, LDict, parent, "events", f"scoring.{section}.events", problems):
        return (), 0.0
    check_keys(node, ("weight", "types"), f"scoring.{section}.events", problems, required=("weight", "types"))
    weight = node.get("weight", 0)
    if not expect(weight, (int, float), node, "weight", "events weight", problems) or weight <= 0:
        return (), 0.0
    rules = []
    types = node.get("types") or LDict()
    if expect(types, LDict, node, "types", "events types", problems):
        for name, spec in types.items():
            if not expect(spec, LDict, types, name, f"event {name}", problems):
                continue
            check_keys(spec, ("points", "half_life", "max_count", "within"), f"event {name}", problems,
                       required=("points",))
            points = spec.get("points")
            if not isinstance(points, (int, float)) or isinstance(points, bool) or not -10 <= points <= 10:
                problems.at(spec, "points", f"event {name}: points must be a number from -10 to 10")
                continue
            max_count = spec.get("max_count")
            if max_count is not None and (not isinstance(max_count, int) or max_count < 1):
                problems.at(spec, "max_count", f"event {name}: max_count must be a whole number above 0")
                continue
            rules.append(EventRule(str(name).lower(), float(points), duration(spec, "half_life", problems),
                                   max_count, duration(spec, "within", problems)))
    return tuple(rules), float(weight)


# ---- computing ---------------------------------------------------------------------------------

class Scorer:
    """The scoring model compiled for speed: field getters and choice tables built once."""

    def __init__(self, scoring: Scoring):
        self.scoring = scoring
        self._plan: list[tuple[Attribute, Callable[[dict[str, Any]], Any], float]] = []
        self._event_plan: tuple[str, dict[str, EventRule], float] | None = None
        for section in scoring.sections:
            total = section.attribute_total or 1.0
            for attr in section.attributes:
                self._plan.append((attr, getter(attr.field), section.weight * attr.weight / total / 10.0))
            if section.events:
                rules = {r.type: r for r in section.events}
                self._event_plan = (section.name, rules, section.weight * section.events_weight / total / 10.0)

    @property
    def event_plan(self) -> tuple[dict[str, EventRule], float] | None:
        """(event rules by type, score points per point of event priority), or None when no events score."""
        return (self._event_plan[1], self._event_plan[2]) if self._event_plan else None

    def score(self, facts: dict[str, Any], now: datetime) -> tuple[int, int | None, dict[str, dict[str, Any]]]:
        """(score 0–100, MQL level or None, breakdown {section.attribute: {value, priority, points}})."""
        total = 0.0
        breakdown: dict[str, dict[str, Any]] = {}
        for attr, get, factor in self._plan:
            value = get(facts)
            prio = _choose(attr, value)
            points = factor * prio
            total += points
            breakdown[attr.name] = {"value": _show(value), "priority": prio, "points": round(points, 2)}
        if self._event_plan:
            name, rules, factor = self._event_plan
            raw, counted = _event_points(facts.get("attributes", {}).get("events"), rules, now)
            event_prio = max(-10.0, min(10.0, raw))
            points = factor * event_prio
            total += points
            breakdown[f"{name}.events"] = {"value": counted, "priority": round(event_prio, 2),
                                           "points": round(points, 2)}
        score = max(0, min(100, int(round(total))))
        t1, t2, t3 = self.scoring.thresholds
        level = 3 if score >= t3 else 2 if score >= t2 else 1 if score >= t1 else None
        return score, level, breakdown


def _show(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)[:80]


def _choose(attr: Attribute, value: Any) -> int:
    if value is None or value == "":
        return attr.default
    if isinstance(value, list):
        prios = [_choose(attr, v) for v in value if not isinstance(v, (list, dict))]
        return max(prios) if prios else attr.default
    if attr.ranges and isinstance(value, (int, float)) and not isinstance(value, bool):
        for r in attr.ranges:
            if (r.low is None or value >= r.low) and (r.high is None or value <= r.high):
                return r.priority
    text = str(value).casefold()
    if isinstance(attr, _Contains):
        for needle, prio in attr.choices.items():
            if needle in text:
                return prio
        return attr.default
    return attr.choices.get(text, attr.default)


def _event_points(events: Any, rules: dict[str, EventRule], now: datetime) -> tuple[float, dict[str, int]]:
    total = 0.0
    counts: dict[str, int] = {}
    for rule, _age, decay in counted_events(events, rules, now):
        counts[rule.type] = counts.get(rule.type, 0) + 1
        total += rule.points * decay
    return total, counts


def counted_events(events: Any, rules: dict[str, EventRule],
                   now: datetime) -> Iterator[tuple[EventRule, float | None, float]]:
    """The events that count as of `now`, in stored order, as (rule, age in seconds or None, decay factor):
    known types only, inside `within`, at most `max_count` per type; decay = 0.5 ** (age / half_life)."""
    if not isinstance(events, list):
        return
    counts: dict[str, int] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        rule = rules.get(event["type"]) if "type" in event else None
        if rule is None:
            continue
        age = _age_seconds(event.get("at"), now)
        if rule.within is not None and age is not None and age > rule.within.total_seconds():
            continue
        if rule.max_count is not None and counts.get(rule.type, 0) >= rule.max_count:
            continue
        counts[rule.type] = counts.get(rule.type, 0) + 1
        yield rule, age, 0.5 ** (age / rule.half_life.total_seconds()) if rule.half_life and age else 1.0


def _age_seconds(at: Any, now: datetime) -> float | None:
    if not isinstance(at, str):
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (now - when).total_seconds())
