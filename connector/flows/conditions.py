"""`when` conditions as data: a closed operator set, compiled once at load into closures, never eval'd.

Forms (all may nest):
    {field: country, in: [DE, AT]}        one field, one operator
    {source: website, mql_level: {gte: 2}} shorthand: field → value (eq), list (in) or {op: value}
    {all: [...]}, {any: [...]}, {not: {...}}, or a bare list (= all)
String comparisons ignore case. A field that is a list (attributes.interests) matches `eq`/`in` if any
item does.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connector.flows.model import LEAD_FIELDS, Condition
from connector.flows.yamlsrc import LDict, LList, Problems, did_you_mean

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists", "matches")
DERIVED_FIELDS = ("source", "score", "mql_level", "email_domain", "free_email", "bant_known", "event_types", "flow")
KNOWN_FIELDS = tuple(f for f in LEAD_FIELDS if f != "attributes") + DERIVED_FIELDS
_SYMBOL = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in", "not_in": "not in",
           "contains": "contains", "exists": "exists", "matches": "matches"}
# what a condition admits of one field: ("set", frozenset) | ("range", lo, lo_incl, hi, hi_incl)
Constraint = tuple[Any, ...]


def getter(name: str) -> Callable[[dict[str, Any]], Any]:
    """A fast accessor for a fact: 'country' or 'attributes.role' (nested with more dots)."""
    if not name.startswith("attributes."):
        return lambda facts: facts.get(name)
    path = name.split(".")[1:]

    def get(facts: dict[str, Any]) -> Any:
        value: Any = facts.get("attributes") or {}
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value
    return get


def is_field(name: Any) -> bool:
    return isinstance(name, str) and (name in KNOWN_FIELDS or (name.startswith("attributes.") and len(name) > 11))


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _leaf(name: str, op: str, arg: Any) -> Callable[[dict[str, Any]], bool]:
    get = getter(name)
    if op in ("eq", "ne", "in", "not_in"):
        wanted = frozenset(_fold(v) for v in (arg if isinstance(arg, list) else [arg]))
        negate = op in ("ne", "not_in")

        def member(facts: dict[str, Any]) -> bool:
            value = get(facts)
            if isinstance(value, list):
                hit = any(_fold(v) in wanted for v in value if not isinstance(v, (dict, list)))
            else:
                hit = not isinstance(value, dict) and _fold(value) in wanted
            return hit != negate
        return member
    if op in ("gt", "gte", "lt", "lte"):
        bound = float(arg)
        compare = {"gt": bound.__lt__, "gte": bound.__le__, "lt": bound.__gt__, "lte": bound.__ge__}[op]

        def ordered(facts: dict[str, Any]) -> bool:
            value = _num(get(facts))
            return value is not None and compare(value)
        return ordered
    if op == "contains":
        needle = _fold(arg)

        def contains(facts: dict[str, Any]) -> bool:
            value = get(facts)
            if isinstance(value, list):
                return any(_fold(v) == needle for v in value if not isinstance(v, (dict, list)))
            return isinstance(value, str) and isinstance(needle, str) and needle in value.casefold()
        return contains
    if op == "exists":
        want = bool(arg)
        return lambda facts: (get(facts) not in (None, "", [], {})) == want
    pattern = re.compile(str(arg), re.IGNORECASE)
    return lambda facts: isinstance(get(facts), str) and pattern.search(get(facts)) is not None


def _constraint(op: str, arg: Any) -> Constraint | None:
    """The value set / interval a leaf admits, for overlap analysis (None if not analysable)."""
    if op in ("eq", "in"):
        values = arg if isinstance(arg, list) else [arg]
        if all(_num(v) is not None and not isinstance(v, str) for v in values) and len(values) == 1:
            v = float(values[0])
            return ("range", v, True, v, True)
        return ("set", frozenset(_fold(v) for v in values))
    if op in ("gt", "gte"):
        return ("range", float(arg), op == "gte", None, False)
    if op in ("lt", "lte"):
        return ("range", None, False, float(arg), op == "lte")
    return None


def _check_arg(op: str, arg: Any, node: LDict, key: Any, problems: Problems) -> bool:
    if op in ("in", "not_in") and not isinstance(arg, list):
        problems.at(node, key, f"operator {op!r} needs a list of values")
        return False
    if op in ("eq", "ne", "contains") and isinstance(arg, (list, dict)):
        problems.at(node, key, f"operator {op!r} needs a single value (use 'in' for a list)")
        return False
    if op in ("gt", "gte", "lt", "lte") and _num(arg) is None:
        problems.at(node, key, f"operator {op!r} needs a number, not {arg!r}")
        return False
    if op == "exists" and not isinstance(arg, bool):
        problems.at(node, key, "operator 'exists' needs true or false")
        return False
    if op == "matches":
        try:
            re.compile(str(arg))
        except re.error as exc:
            problems.at(node, key, f"'matches' pattern is not a valid regular expression: {exc}")
            return False
    return True


def _compiled(parts: list[Condition | None]) -> list[Condition] | None:
    """The parts, if every one of them compiled (None otherwise)."""
    done = [p for p in parts if p is not None]
    return done if len(done) == len(parts) else None


def compile_when(node: Any, parent: LDict | LList, key: Any, problems: Problems) -> Condition | None:
    """Compile a `when` node; report every problem; None if it cannot be compiled."""
    if isinstance(node, LList):
        compiled = _compiled([compile_when(item, node, i, problems) for i, item in enumerate(node)])
        if not node:
            return Condition(lambda f: True, "always", {}, True)
        return _all(compiled) if compiled is not None else None
    if not isinstance(node, LDict):
        problems.at(parent, key, f"a condition must be a mapping or a list of conditions, not {node!r}")
        return None
    if "all" in node or "any" in node or "not" in node:
        (word, inner), *rest = node.items()
        if rest:
            problems.at(node, None, f"'{word}' must be the only key of its condition")
            return None
        if word == "not":
            sub = compile_when(inner, node, word, problems)
            if sub is None:
                return None
            test = sub.test
            return Condition(lambda f: not test(f), f"not ({sub.text})", fields=sub.fields)
        if not isinstance(inner, LList) or not inner:
            problems.at(node, word, f"'{word}' needs a non-empty list of conditions")
            return None
        compiled = _compiled([compile_when(item, inner, i, problems) for i, item in enumerate(inner)])
        if compiled is None:
            return None
        return _all(compiled) if word == "all" else _any(compiled)
    if "field" in node:
        name = node["field"]
        ops = [k for k in node if k != "field"]
        if not is_field(name):
            problems.at(node, "field", f"unknown field {name!r} in condition{did_you_mean(name, KNOWN_FIELDS)}")
            return None
        if len(ops) != 1 or ops[0] not in OPERATORS:
            bad = next((k for k in ops if k not in OPERATORS), None)
            hint = did_you_mean(bad, OPERATORS) if bad else ""
            problems.at(node, bad if bad is not None else None,
                        f"a field condition needs exactly one operator of {', '.join(OPERATORS)}{hint}")
            return None
        return _leaf_condition(name, ops[0], node[ops[0]], node, ops[0], problems)
    parts: list[Condition | None] = []
    for name, value in node.items():
        if not is_field(name):
            hint = did_you_mean(name, KNOWN_FIELDS + ("all", "any", "not", "field"))
            problems.at(node, name, f"unknown field {name!r} in condition{hint}")
            parts.append(None)
        elif isinstance(value, LDict):
            if len(value) != 1 or next(iter(value)) not in OPERATORS:
                bad = next((k for k in value if k not in OPERATORS), None)
                hint = did_you_mean(bad, OPERATORS) if bad else ""
                problems.at(value, bad, f"{name}: expected one operator of {', '.join(OPERATORS)}{hint}")
                parts.append(None)
            else:
                op = next(iter(value))
                parts.append(_leaf_condition(name, op, value[op], value, op, problems))
        else:
            op = "in" if isinstance(value, list) else "eq"
            parts.append(_leaf_condition(name, op, value, node, name, problems))
    compiled = _compiled(parts)
    if not parts or compiled is None:
        if not parts:
            problems.at(node, None, "a condition cannot be empty")
        return None
    return _all(compiled)


def _leaf_condition(name: str, op: str, arg: Any, node: LDict, key: Any, problems: Problems) -> Condition | None:
    if not _check_arg(op, arg, node, key, problems):
        return None
    shown = f"[{', '.join(map(str, arg))}]" if isinstance(arg, list) else str(arg)
    text = f"{name} exists" if op == "exists" and arg else f"{name} {_SYMBOL[op]} {shown}"
    cons = _constraint(op, arg)
    return Condition(_leaf(name, op, arg), text, {name: cons} if cons else None, fields=frozenset({name}))


def _all(parts: list[Condition]) -> Condition:
    if len(parts) == 1:
        return parts[0]
    tests = tuple(p.test for p in parts)
    constraints: dict[str, Constraint] | None = {}
    for p in parts:
        if p.constraints is None or constraints is None:
            constraints = None
            continue
        for fname, cons in p.constraints.items():
            constraints[fname] = _intersect(constraints[fname], cons) if fname in constraints else cons
    return Condition(lambda f: all(t(f) for t in tests), " and ".join(p.text for p in parts), constraints,
                     all(p.always for p in parts), frozenset().union(*(p.fields for p in parts)))


def _any(parts: list[Condition]) -> Condition:
    tests = tuple(p.test for p in parts)
    return Condition(lambda f: any(t(f) for t in tests), "(" + " or ".join(p.text for p in parts) + ")", None,
                     any(p.always for p in parts), frozenset().union(*(p.fields for p in parts)))


# ---- overlap analysis over plain conjunctions -------------------------------------------------

def _in_range(v: Any, r: Constraint) -> bool:
    x = _num(v)
    if x is None:
        return False
    _, lo, lo_in, hi, hi_in = r
    return (lo is None or x > lo or (lo_in and x == lo)) and (hi is None or x < hi or (hi_in and x == hi))


def _intersect(a: Constraint, b: Constraint) -> Constraint:
    if a[0] == "set" and b[0] == "set":
        return ("set", a[1] & b[1])
    if a[0] == "set" or b[0] == "set":
        s, r = (a, b) if a[0] == "set" else (b, a)
        return ("set", frozenset(v for v in s[1] if _in_range(v, r)))
    lo, lo_in = max((a[1], a[2]), (b[1], b[2]), key=lambda t: (float("-inf") if t[0] is None else t[0], not t[1]))
    hi, hi_in = min((a[3], a[4]), (b[3], b[4]), key=lambda t: (float("inf") if t[0] is None else t[0], t[1]))
    return ("range", lo, lo_in, hi, hi_in)


def _empty(c: Constraint) -> bool:
    if c[0] == "set":
        return not c[1]
    _, lo, lo_in, hi, hi_in = c
    return lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_in and hi_in)))


def _subset(a: Constraint, b: Constraint) -> bool:
    """Every value `a` admits, `b` admits too."""
    if a[0] == "set":
        return all((v in b[1]) if b[0] == "set" else _in_range(v, b) for v in a[1])
    if b[0] == "set":
        return a[1] is not None and a[1] == a[3] and _in_range(a[1], a) and a[1] in b[1]
    inter = _intersect(a, b)
    return inter == a or (inter[1], inter[3]) == (a[1], a[3]) and inter[2] == a[2] and inter[4] == a[4]


def relation(earlier: Condition, later: Condition) -> str | None:
    """'shadowed' if every lead `later` matches is taken by `earlier`, 'overlap' if they share some
    leads on the same fields and neither contains the other, else None (incl. not analysable)."""
    if earlier.always:
        return "shadowed"
    a, b = earlier.constraints, later.constraints
    if a is None or b is None or not a or set(a) != set(b):
        return None
    if any(a[f] is None or b[f] is None for f in a):
        return None
    if any(_empty(_intersect(a[f], b[f])) for f in a):
        return None
    if all(_subset(b[f], a[f]) for f in a):
        return "shadowed"
    if all(_subset(a[f], b[f]) for f in a):
        return None
    return "overlap"
