"""Mapping files (mappings/*.yaml) and applying them: payload → canonical lead fields, every bad field named."""
from __future__ import annotations

from collections import abc  # abc.Mapping: the bare name `Mapping` is flows.model.Mapping (a mapping file)
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.core.errors import FieldError, InvalidLead
from connector.flows import normalize as norm
from connector.flows.model import LEAD_FIELDS, FieldRule, Mapping, SourceSpec, SplitRule
from connector.flows.yamlsrc import LDict, Problems, check_keys, did_you_mean, expect, load_yaml

TYPES = ("str", "int", "float", "bool", "list", "datetime")
RULE_KEYS = ("from", "concat", "sep", "const", "default", "map", "otherwise", "type", "normalize")
TARGETS = tuple(f for f in LEAD_FIELDS if f not in ("attributes", "company_key"))
MAX_LEN = {"email": 320, "phone": 32, "first_name": 128, "last_name": 128, "company": 255, "company_domain": 255,
           "title": 255, "city": 128, "postal_code": 32, "street": 255, "product": 64, "campaign": 128,
           "budget": 64, "authority": 64, "need": 255, "timing": 64, "salesforce_id": 18, "hubspot_id": 32,
           "country": 2, "region": 16}
_TRUE = {"true", "yes", "y", "1", "on", "x", "checked"}
_FALSE = {"false", "no", "n", "0", "off", "", "unchecked"}
_MISSING = object()


def is_target(name: Any) -> bool:
    return isinstance(name, str) and (name in TARGETS or (name.startswith("attributes.") and len(name) > 11))


def parse_mapping(path: Path, display: str, problems: Problems, env: abc.Mapping[str, str] | None) -> Mapping | None:
    """Load and validate one source mapping file; problems are reported, None if unusable."""
    data = load_yaml(path, display, problems, env)
    if data is None:
        return None
    if not isinstance(data, LDict):
        problems.add(display, 1, "a mapping file must be a mapping with 'fields'")
        return None
    check_keys(data, ("fields", "split"), "a mapping file", problems, required=("fields",))
    rules: list[FieldRule] = []
    fields = data.get("fields")
    if not isinstance(fields, LDict):
        expect(fields, LDict, data, "fields", "'fields'", problems)  # reports what 'fields' is instead
    else:
        for target, spec in fields.items():
            if not is_target(target):
                problems.at(fields, target, f"unknown lead field {target!r}{did_you_mean(target, TARGETS)}"
                            " (custom fields go under attributes.<name>)")
                continue
            rule = _rule(target, spec, fields, problems)
            if rule:
                rules.append(rule)
    splits: list[SplitRule] = []
    for i, item in enumerate(data.get("split") or []):
        holder = data["split"]
        if not expect(item, LDict, holder, i, "a split rule", problems):
            continue
        check_keys(item, ("from", "into", "at"), "a split rule", problems, required=("from", "into"))
        into = item.get("into")
        if not (isinstance(into, list) and len(into) == 2 and all(is_target(t) for t in into)):
            problems.at(item, "into", "'into' must list two lead fields, e.g. [first_name, last_name]")
            continue
        if item.get("at", "last") not in ("first", "last"):
            problems.at(item, "at", "'at' must be first or last")
            continue
        splits.append(SplitRule(str(item.get("from")), (into[0], into[1]), item.get("at", "last")))
    rules.sort(key=lambda r: r.normalize in _LATER)  # phone and subdivision are read in the lead's country
    return Mapping(display, tuple(rules), tuple(splits))


def _rule(target: str, spec: Any, parent: LDict, problems: Problems) -> FieldRule | None:
    if isinstance(spec, str):
        return FieldRule(target, sources=(spec,), line=parent.line_of(target))
    if not isinstance(spec, LDict):
        problems.at(parent, target,
                    f"{target}: a rule must be a payload field name or a mapping of {', '.join(RULE_KEYS)}")
        return None
    check_keys(spec, RULE_KEYS, f"the rule for {target}", problems)
    ok = True
    sources = spec.get("from")
    sources = tuple(str(s) for s in sources) if isinstance(sources, list) else ((str(sources),) if sources else ())
    concat = spec.get("concat") or ()
    if concat and not isinstance(concat, list):
        problems.at(spec, "concat", f"{target}: 'concat' must be a list of payload fields")
        ok = False
    if not sources and not concat and "const" not in spec and "default" not in spec:
        problems.at(spec, None, f"{target}: a rule needs 'from', 'concat', 'const' or 'default'")
        ok = False
    value_map = spec.get("map")
    if value_map is not None and not isinstance(value_map, LDict):
        problems.at(spec, "map", f"{target}: 'map' must be a mapping of payload value → lead value")
        ok = False
    otherwise = spec.get("otherwise", "keep")
    if otherwise not in ("keep", "drop", "error"):
        problems.at(spec, "otherwise", f"{target}: 'otherwise' must be keep, drop or error")
        ok = False
    kind = spec.get("type")
    if kind is not None and kind not in TYPES:
        problems.at(spec, "type", f"{target}: unknown type {kind!r}{did_you_mean(kind, TYPES)}")
        ok = False
    normaliser = spec.get("normalize")
    if normaliser is not None and normaliser not in norm.NORMALISERS:
        problems.at(spec, "normalize",
                    f"{target}: unknown normaliser {normaliser!r}{did_you_mean(normaliser, norm.NORMALISERS)}")
        ok = False
    if not ok:
        return None
    folded = {str(k).casefold(): v for k, v in value_map.items()} if value_map else None
    return FieldRule(target, sources, tuple(str(c) for c in concat), str(spec.get("sep", " ")), spec.get("const"),
                     "const" in spec, spec.get("default"), folded, otherwise, kind, normaliser, parent.line_of(target))


def lookup(payload: Any, path: str) -> Any:
    """payload['a']['b'] for 'a.b' (list items by number); a flat key containing dots wins."""
    if isinstance(payload, dict) and path in payload:
        return payload[path]
    value = payload
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _blank(value: Any) -> bool:
    if value is None:
        return True
    kind = value.__class__
    if kind is str:
        return not value or (value[0].isspace() and not value.strip()) or (value[-1].isspace() and not value.strip())
    return (kind is list or kind is dict) and not value


def _raw(rule: FieldRule, payload: dict) -> Any:
    if rule.has_const:
        return rule.const
    if rule.concat:
        parts = [lookup(payload, p) for p in rule.concat]
        text = rule.sep.join(str(p).strip() for p in parts if not _blank(p) and not isinstance(p, (dict, list)))
        return text or None
    for path in rule.sources:
        value = payload[path] if path in payload else (lookup(payload, path) if "." in path else None)
        if not _blank(value):
            return value
    return None


def _coerce(value: Any, kind: str) -> Any:
    if kind == "list":
        if isinstance(value, list):
            return [v for v in value if not _blank(v)]
        return [p.strip() for p in str(value).replace(";", ",").split(",") if p.strip()]
    if isinstance(value, (dict, list)):
        raise ValueError(f"must be a single value, not a {'list' if isinstance(value, list) else 'mapping'}")
    if kind == "str":
        return str(value).strip()
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            raise ValueError(f"must be a whole number, not {str(value)[:40]!r}") from None
        if number != number or abs(number) > 2**53 or number != int(number):
            raise ValueError("must be a whole number")
        return int(number)
    if kind == "float":
        real: float | None
        try:
            real = float(str(value).replace(",", "").strip()) if not isinstance(value, bool) else None
        except ValueError:
            real = None
        if real is None or real != real or real in (float("inf"), float("-inf")):
            raise ValueError(f"must be a number, not {str(value)[:40]!r}")
        return real
    if kind == "bool":
        text = str(value).strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("must be yes/no or true/false")
    return _datetime(value)


def _datetime(value: Any) -> str:
    """An ISO 8601 UTC timestamp string (JSON-safe) from ISO text or epoch seconds/milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError("is not a valid timestamp") from None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("is not an ISO 8601 date/time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _events(value: Any) -> list[dict]:
    """Behavioural events: a list of {type, at} (or of type names), at as ISO UTC text or None."""
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item.strip():
            out.append({"type": item.strip().lower(), "at": None})
            continue
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError(f"item {i + 1} must have a 'type'")
        at = item.get("at")
        out.append({"type": kind.strip().lower(), "at": None if _blank(at) else _datetime(at)})
    return out


_TEXT_NORMALISERS = {
    "email": lambda text, lead, source: norm.email(text),
    "phone": lambda text, lead, source: norm.phone(text, lead.get("country") or source.default_country),
    "country": lambda text, lead, source: norm.country(text),
    "subdivision": lambda text, lead, source: norm.subdivision(text, lead.get("country") or source.default_country),
    "domain": lambda text, lead, source: norm.domain(text),
    "company_domain": lambda text, lead, source: norm.company_domain(text),
    "title": lambda text, lead, source: norm.title(text),
    "lower": lambda text, lead, source: text.strip().lower(),
    "upper": lambda text, lead, source: text.strip().upper(),
    "strip": lambda text, lead, source: text.strip(),
}


def _normalise(name: str, value: Any, lead: dict, source: SourceSpec) -> Any:
    if name == "events":
        return _events(value)
    if isinstance(value, (dict, list)):
        raise ValueError("must be a single value")
    return _TEXT_NORMALISERS[name](value if value.__class__ is str else str(value), lead, source)


_FLOATS = frozenset({"latitude", "longitude"})
_SCALAR_TARGETS = frozenset(TARGETS)


def _value(rule: FieldRule, payload: dict, lead: dict, source: SourceSpec) -> Any:
    value = _raw(rule, payload)
    if _blank(value):
        value = rule.default
        if _blank(value):
            return _MISSING
    kind = value.__class__
    if rule.value_map is not None and kind is not dict and kind is not list:
        key = str(value).casefold().strip()
        if key in rule.value_map:
            value = rule.value_map[key]
        elif rule.map_otherwise == "drop":
            return _MISSING
        elif rule.map_otherwise == "error":
            raise ValueError(f"{str(value)[:40]!r} is not one of {', '.join(map(str, rule.value_map))}")
    if rule.type:
        value = _coerce(value, rule.type)
    if rule.normalize:
        value = _normalise(rule.normalize, value, lead, source)
    elif not rule.type and value.__class__ is str:
        value = value.strip()
    if value is None:
        return _MISSING
    kind = value.__class__
    if kind is str:
        limit = MAX_LEN.get(rule.target)
        if limit and len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
    elif (kind is dict or kind is list) and rule.target in _SCALAR_TARGETS:
        raise ValueError("must be a single value")
    if rule.target in _FLOATS and kind is not float:
        value = _coerce(value, "float")
    return value


def _put(lead: dict, target: str, value: Any) -> None:
    if not target.startswith("attributes."):
        lead[target] = value
        return
    node = lead["attributes"]
    *parents, last = target.split(".")[1:]
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


_LATER = ("subdivision", "phone")  # read in the lead's country, so mapped after it


def apply(source: SourceSpec, payload: Any) -> dict:
    """Map a payload through the source's mapping; raise InvalidLead naming every bad field."""
    if not isinstance(payload, dict):
        raise InvalidLead([FieldError("payload", "must be a JSON object")])
    lead: dict[str, Any] = {"attributes": {}}
    errors: dict[str, str] = {}
    for rule in source.mapping.fields:
        try:
            value = _value(rule, payload, lead, source)
        except (ValueError, TypeError, OverflowError) as exc:
            errors.setdefault(rule.target, str(exc))
            continue
        if value is not _MISSING:
            _put(lead, rule.target, value)
    for split in source.mapping.splits:
        whole = lookup(payload, split.source)
        if isinstance(whole, str) and whole.strip():
            words = whole.split()
            first, rest = ((" ".join(words[:-1]), words[-1]) if split.at == "last" else (words[0], " ".join(words[1:])))
            for target, part in zip(split.into, (first, rest), strict=True):
                if part and _blank(lead.get(target)):
                    _put(lead, target, norm.title(part)[:128])
    _derive(lead)
    for need in source.required:
        if need in errors:
            continue
        present = (lead.get("first_name") or lead.get("last_name")) if need == "name" else not _blank(
            lead.get(need) if not need.startswith("attributes.") else lookup(lead, need))
        if not present:
            errors[need] = "is required" if need != "name" else "is required (first or last name)"
    if errors:
        raise InvalidLead([FieldError(f, p) for f, p in errors.items()])
    return lead


def _derive(lead: dict) -> None:
    """Fields computed from others: company_key from company, company_domain from a work e-mail."""
    if lead.get("company"):
        lead["company_key"] = norm.company_key(lead["company"])[:255] or None
    if not lead.get("company_domain") and lead.get("email"):
        try:
            lead["company_domain"] = norm.company_domain(lead["email"])
        except ValueError:
            pass
    if lead.get("company_domain") is None:
        lead.pop("company_domain", None)
