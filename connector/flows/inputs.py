"""The lead fields a spec's decisions read: what, when it changes, can change a lead's score or flow. Pure.

The scoring model's attributes (and `attributes.events` when events score) plus every field the flows'
conditions test (flow `when`, qualify rules, team rules); derived facts count as the fields they come
from (email_domain and free_email: email; bant_known: the BANT fields; event_types: attributes.events;
score and mql_level: the scored fields).
"""
from __future__ import annotations

from collections.abc import Iterator

from connector.flows.model import BANT_FIELDS, Condition, Spec

DERIVED: dict[str, tuple[str, ...]] = {"email_domain": ("email",), "free_email": ("email",),
                                       "bant_known": BANT_FIELDS, "event_types": ("attributes.events",),
                                       "source": (), "flow": ()}


def scored_fields(spec: Spec) -> frozenset[str]:
    """Fields the scoring model reads."""
    fields = {a.field for s in spec.scoring.sections for a in s.attributes}
    if any(s.events for s in spec.scoring.sections):
        fields.add("attributes.events")
    return frozenset(fields)


def _conditions(spec: Spec) -> Iterator[Condition]:
    for flow in spec.flows:
        if flow.when is not None:
            yield flow.when
        yield from (rule.when for rule in flow.qualify if rule.when is not None)
        if flow.route is not None:
            yield from (team.when for team in flow.route.teams if team.when is not None)


def decision_fields(spec: Spec) -> frozenset[str]:
    """Every lead field (column name or attributes.NAME) a decision under `spec` reads."""
    scored = scored_fields(spec)
    fields = set(scored)
    for condition in _conditions(spec):
        for name in condition.fields:
            if name in ("score", "mql_level"):
                fields |= scored
            else:
                fields.update(DERIVED.get(name, (name,)))
    return frozenset(fields)
