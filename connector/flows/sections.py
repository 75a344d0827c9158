"""Parsing a flow's sections: qualify, duplicates, route, offer, feedback and crm (with CRM mapping files)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, overload

from connector.flows import normalize as norm
from connector.flows.conditions import compile_when
from connector.flows.model import (
    CHOOSERS,
    CONFLICT_RULES,
    CRMS,
    DEFAULT_ROUTE_FILTERS,
    DUPLICATE_ACTIONS,
    DUPLICATE_RULES,
    LEAD_FIELDS,
    MERGE_POLICIES,
    OFFER_MODES,
    OFFER_WINDOW_DEFAULT,
    OFFER_WINDOW_MAX,
    OFFER_WINDOW_MIN,
    ON_WON,
    OUTSIDE_HOURS,
    ROUTE_FILTERS,
    SYSTEM_OF_RECORD_FIELDS,
    AccountSpec,
    Cadence,
    CrmField,
    CrmMapping,
    CrmSpec,
    DuplicateSpec,
    FeedbackSpec,
    OfferSpec,
    QualifyRule,
    RouteSpec,
    TeamRule,
)
from connector.flows.yamlsrc import LDict, LList, Problems, check_keys, did_you_mean, duration, expect, load_yaml

FEEDBACK_MIN, FEEDBACK_MAX = timedelta(hours=1), timedelta(days=365)
CRM_FIELDS = tuple(f for f in LEAD_FIELDS if f != "attributes") + (
    "id", "source", "score", "mql_level", "flow", "outcome", "status", "team", "nurture_stream", "reject_reason",
    "captured_at", "first_offered_at", "accepted_at", "closed_at", "won_amount",
    "owner.email", "owner.name", "owner.hubspot_owner_id", "owner.salesforce_user_id",
    "feedback.level", "feedback.contacted", "feedback.action", "feedback.action_at", "feedback.pursuit_status",
    "feedback.outcome", "feedback.lost_reason", "feedback.amount", "feedback.close_date",
)


@overload
def _int(node: LDict, key: str, problems: Problems, default: int, low: int, high: int | None = None) -> int: ...
@overload
def _int(node: LDict, key: str, problems: Problems, default: None, low: int, high: int | None = None) -> int | None: ...
def _int(node: LDict, key: str, problems: Problems, default: int | None, low: int,
         high: int | None = None) -> int | None:
    value = node.get(key, default)
    if value is None or value == default:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        problems.at(node, key, f"{key} must be a whole number {span}, not {value!r}")
        return default
    return value


def _bool(node: LDict, key: str, problems: Problems, default: bool) -> bool:
    value = node.get(key, default)
    if not isinstance(value, bool):
        problems.at(node, key, f"{key} must be true or false, not {value!r}")
        return default
    return value


def _names(node: LDict, key: str, problems: Problems, default: tuple[str, ...]) -> tuple[str, ...]:
    value = node.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.at(node, key, f"{key} must be a list of names")
        return default
    return tuple(value)


def _choice(node: LDict, key: str, options: tuple[str, ...], problems: Problems, default: str) -> str:
    value = node.get(key, default)
    if value not in options:
        problems.at(node, key,
                    f"{key} must be one of {', '.join(options)}, not {value!r}{did_you_mean(value, options)}")
        return default
    return value


def parse_qualify(node: Any, flow: LDict, streams: tuple[str, ...], default_stream: str,
                  problems: Problems) -> tuple[QualifyRule, ...]:
    """Qualification rules: first match wins; a rule without `when` catches every lead."""
    if node is None:
        return ()
    if not expect(node, LList, flow, "qualify", "qualify", problems):
        return ()
    rules: list[QualifyRule] = []
    catch_all_line = 0
    for i, item in enumerate(node):
        if not expect(item, LDict, node, i, "a qualify rule", problems):
            continue
        check_keys(item, ("when", "outcome", "stream", "reason"), "a qualify rule", problems, required=("outcome",))
        if catch_all_line:
            problems.at(node, i, f"this qualify rule can never match: the rule at line {catch_all_line} has no "
                                 "'when' and takes every lead")
        when = compile_when(item["when"], item, "when", problems) if "when" in item else None
        outcome = _choice(item, "outcome", ("routed", "nurture", "rejected"), problems, "nurture")
        stream = item.get("stream")
        if outcome == "nurture":
            stream = stream or default_stream
            if stream not in streams:
                problems.at(item, "stream" if "stream" in item else None,
                            f"nurture stream {stream!r} is not declared under nurture.streams"
                            f"{did_you_mean(stream, streams)}")
        elif "stream" in item:
            problems.at(item, "stream", "'stream' only applies to outcome nurture")
        if outcome == "rejected" and not isinstance(item.get("reason"), str):
            problems.at(item, None, "a rejected outcome needs a 'reason'")
        if when is None and "when" not in item:
            catch_all_line = item.line
        rules.append(QualifyRule(when, outcome, stream, item.get("reason"), item.line))
    return tuple(rules)


def parse_duplicates(node: Any, flow: LDict, problems: Problems) -> DuplicateSpec:
    if node is None:
        return DuplicateSpec()
    if not expect(node, LDict, flow, "duplicates", "duplicates", problems):
        return DuplicateSpec()
    check_keys(node, ("rules", "name_threshold", "company_threshold", "action", "merge"), "duplicates", problems)
    rules = _names(node, "rules", problems, DUPLICATE_RULES)
    for i, rule in enumerate(rules):
        if rule not in DUPLICATE_RULES:
            problems.at(node["rules"], i, f"unknown duplicate rule {rule!r}{did_you_mean(rule, DUPLICATE_RULES)}")
    thresholds = []
    for key, default in (("name_threshold", 90.0), ("company_threshold", 85.0)):
        value = node.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 100:
            problems.at(node, key, f"{key} must be a similarity from 1 to 100, not {value!r}")
            value = default
        thresholds.append(float(value))
    return DuplicateSpec(tuple(r for r in rules if r in DUPLICATE_RULES), thresholds[0], thresholds[1],
                         _choice(node, "action", DUPLICATE_ACTIONS, problems, "merge"), _merge_rules(node, problems))


MERGEABLE = tuple(f for f in LEAD_FIELDS if f not in ("company_key", "company_domain")) + ("attributes.*",)


def _merge_rules(node: LDict, problems: Problems) -> dict[str, str]:
    """duplicates.merge: {lead field or attributes.NAME: keep | fill_blank | newest}."""
    raw = node.get("merge")
    if raw is None or not expect(raw, LDict, node, "merge", "duplicates.merge", problems):
        return {}
    rules: dict[str, str] = {}
    for name, policy in raw.items():
        known = name in LEAD_FIELDS or (isinstance(name, str) and name.startswith("attributes.") and len(name) > 11)
        if not known:
            problems.at(raw, name, f"duplicates.merge: unknown lead field {name!r}{did_you_mean(str(name), MERGEABLE)}")
        elif policy not in MERGE_POLICIES:
            problems.at(raw, name, f"duplicates.merge.{name} must be one of {', '.join(MERGE_POLICIES)}, "
                                   f"not {policy!r}{did_you_mean(str(policy), MERGE_POLICIES)}")
        else:
            rules[str(name)] = str(policy)
    return rules


def parse_account(node: Any, flow: LDict, problems: Problems) -> AccountSpec:
    """account: {owner_on_accept, route_to_owner, hold_days, on_won}: the company-wide view of a flow."""
    if node is None:
        return AccountSpec()
    if not expect(node, LDict, flow, "account", "account", problems):
        return AccountSpec()
    check_keys(node, ("owner_on_accept", "route_to_owner", "hold_days", "on_won"), "account", problems)
    return AccountSpec(_bool(node, "owner_on_accept", problems, True), _bool(node, "route_to_owner", problems, True),
                       _int(node, "hold_days", problems, 90, 1, 3650),
                       _choice(node, "on_won", ON_WON, problems, "close_siblings"))


def parse_route(node: Any, flow: LDict, problems: Problems) -> RouteSpec | None:
    if node is None:
        return None
    if not expect(node, LDict, flow, "route", "route", problems):
        return None
    check_keys(node, ("team", "teams", "filters", "chooser", "fallback", "allow_outside_hours"), "route", problems)
    teams: list[TeamRule] = []
    if "team" in node and "teams" in node:
        problems.at(node, "teams", "route takes either 'team' or 'teams', not both")
    if isinstance(node.get("team"), str):
        teams.append(TeamRule(None, node["team"]))
    elif "team" in node:
        problems.at(node, "team", "team must be a team name")
    for i, item in enumerate(node.get("teams") or []):
        if not expect(item, LDict, node["teams"], i, "a team rule", problems):
            continue
        check_keys(item, ("when", "team"), "a team rule", problems, required=("team",))
        when = compile_when(item["when"], item, "when", problems) if "when" in item else None
        if isinstance(item.get("team"), str):
            teams.append(TeamRule(when, item["team"]))
    if "team" not in node and not node.get("teams"):
        problems.at(node, None, "route needs 'team' or 'teams'")
    filters = _names(node, "filters", problems, DEFAULT_ROUTE_FILTERS)
    for i, name in enumerate(filters):
        if name not in ROUTE_FILTERS:
            problems.at(node["filters"], i, f"unknown routing filter {name!r}{did_you_mean(name, ROUTE_FILTERS)}")
    fallback = node.get("fallback")
    if fallback is not None and not isinstance(fallback, str):
        problems.at(node, "fallback", "fallback must be a queue name")
        fallback = None
    return RouteSpec(tuple(teams), tuple(f for f in filters if f in ROUTE_FILTERS),
                     _choice(node, "chooser", CHOOSERS, problems, "round_robin"), fallback,
                     _bool(node, "allow_outside_hours", problems, False))


def _email(node: LDict, key: str, problems: Problems) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    try:
        return norm.email(str(value))
    except ValueError as exc:
        problems.at(node, key, f"{key} {exc}")
        return None


def parse_offer(node: Any, flow: LDict, problems: Problems) -> OfferSpec:
    if node is None:
        return OfferSpec()
    if not expect(node, LDict, flow, "offer", "offer", problems):
        return OfferSpec()
    check_keys(node, ("mode", "window", "sequential_count", "max_offers", "hide_contact_until_accepted",
                      "escalate_to", "outside_hours"), "offer", problems)
    return OfferSpec(
        _choice(node, "mode", OFFER_MODES, problems, "sequential"),
        duration(node, "window", problems, default=OFFER_WINDOW_DEFAULT, low=OFFER_WINDOW_MIN, high=OFFER_WINDOW_MAX,
                 what="offer window"),
        _int(node, "sequential_count", problems, 3, 1),
        _int(node, "max_offers", problems, None, 1),
        _bool(node, "hide_contact_until_accepted", problems, True),
        _email(node, "escalate_to", problems),
        _choice(node, "outside_hours", OUTSIDE_HOURS, problems, "hold"),
    )


def _cadence(node: LDict, problems: Problems, base: Cadence) -> Cadence:
    return Cadence(duration(node, "first_after", problems, default=base.first_after, low=FEEDBACK_MIN,
                            high=FEEDBACK_MAX),
                   duration(node, "every", problems, default=base.every, low=FEEDBACK_MIN, high=FEEDBACK_MAX),
                   _int(node, "max_requests", problems, base.max_requests, 1, 50))


def parse_feedback(node: Any, flow: LDict, streams: tuple[str, ...], problems: Problems) -> FeedbackSpec:
    if node is None:
        return FeedbackSpec()
    if not expect(node, LDict, flow, "feedback", "feedback", problems):
        return FeedbackSpec()
    check_keys(node, ("first_after", "every", "max_requests", "until_level", "escalate_after", "per_product",
                      "statuses", "lost_reasons", "lost_to_nurture", "crm_status"), "feedback", problems)
    base = _cadence(node, problems, Cadence())
    per_product: dict[str, Cadence] = {}
    raw = node.get("per_product") or LDict()
    if expect(raw, LDict, node, "per_product", "per_product", problems):
        for product, spec in raw.items():
            if expect(spec, LDict, raw, product, f"per_product.{product}", problems):
                check_keys(spec, ("first_after", "every", "max_requests"), f"per_product.{product}", problems)
                per_product[str(product)] = _cadence(spec, problems, base)
    lost_to = node.get("lost_to_nurture")
    if lost_to is not None and lost_to not in streams:
        problems.at(node, "lost_to_nurture", f"nurture stream {lost_to!r} is not declared under nurture.streams"
                                             f"{did_you_mean(lost_to, streams)}")
    defaults = FeedbackSpec()
    statuses = _names(node, "statuses", problems, defaults.statuses)
    return FeedbackSpec(base.first_after, base.every, base.max_requests,
                        _int(node, "until_level", problems, 3, 1, 3), _int(node, "escalate_after", problems, 2, 1, 50),
                        per_product, statuses, _names(node, "lost_reasons", problems, defaults.lost_reasons), lost_to,
                        _crm_status(node, statuses, problems))


def _crm_status(node: LDict, statuses: tuple[str, ...], problems: Problems) -> dict[str, dict[str, str]]:
    """feedback.crm_status: {hubspot|salesforce: {pursuit status | won | lost: CRM status value}}."""
    raw = node.get("crm_status")
    out: dict[str, dict[str, str]] = {}
    if raw is None or not expect(raw, LDict, node, "crm_status", "crm_status", problems):
        return out
    check_keys(raw, ("hubspot", "salesforce"), "crm_status", problems)
    known = (*statuses, "won", "lost")
    for crm, values in raw.items():
        if crm in ("hubspot", "salesforce") and expect(values, LDict, raw, crm, f"crm_status.{crm}", problems):
            for name in values:
                if name not in known:
                    problems.at(values, name, f"crm_status.{crm}: {name!r} is not a status of this flow, won or lost"
                                              f"{did_you_mean(str(name), known)}")
            out[crm] = {str(k): "" if v is None else str(v) for k, v in values.items() if k in known}
    return out


def parse_crm(node: Any, flow: LDict, problems: Problems,
              load_file: Callable[[str, LDict, str], CrmMapping | None]) -> CrmSpec:
    if node is None:
        return CrmSpec()
    if not expect(node, LDict, flow, "crm", "crm", problems):
        return CrmSpec()
    check_keys(node, ("hubspot", "salesforce", "outcomes", "system_of_record"), "crm", problems)
    found: dict[str, CrmMapping | None] = {}
    for crm in ("hubspot", "salesforce"):
        if crm in node:
            if isinstance(node[crm], str):
                found[crm] = load_file(node[crm], node, crm)
            else:
                problems.at(node, crm, f"crm.{crm} must name a mapping file")
    return CrmSpec(found.get("hubspot"), found.get("salesforce"), _bool(node, "outcomes", problems, True),
                   _system_of_record(node, problems))


def _system_of_record(node: LDict, problems: Problems) -> dict[str, str]:
    """crm.system_of_record: {field: crm}, e.g. {owner: salesforce}: that CRM's changes of the field win."""
    raw = node.get("system_of_record")
    if raw is None or not expect(raw, LDict, node, "system_of_record", "crm.system_of_record", problems):
        return {}
    out: dict[str, str] = {}
    for name, crm in raw.items():
        if name not in SYSTEM_OF_RECORD_FIELDS:
            problems.at(raw, name, f"crm.system_of_record: {name!r} cannot have a system of record; known: "
                        f"{', '.join(SYSTEM_OF_RECORD_FIELDS)}{did_you_mean(name, SYSTEM_OF_RECORD_FIELDS)}")
        elif crm not in CRMS:
            problems.at(raw, name, f"crm.system_of_record.{name} must be one of {', '.join(CRMS)}, not {crm!r}"
                        f"{did_you_mean(crm, CRMS)}")
        else:
            out[name] = crm
    return out


def parse_crm_mapping(path: Path, display: str, problems: Problems, env: Mapping[str, str] | None) -> CrmMapping | None:
    """A write-back mapping: Leadwire field → CRM field, with a conflict rule per field."""
    data = load_yaml(path, display, problems, env)
    if data is None:
        return None
    if not isinstance(data, LDict):
        problems.add(display, 1, "a CRM mapping file must be a mapping with 'object' and 'fields'")
        return None
    check_keys(data, ("object", "fields", "default_conflict"), "a CRM mapping file", problems,
               required=("object", "fields"))
    default_conflict = _choice(data, "default_conflict", CONFLICT_RULES, problems, "leadwire_wins")
    fields: list[CrmField] = []
    raw = data.get("fields") or LDict()
    if expect(raw, LDict, data, "fields", "fields", problems):
        for name, spec in raw.items():
            custom = isinstance(name, str) and name.startswith("attributes.") and len(name) > 11
            if not (name in CRM_FIELDS or custom):
                problems.at(raw, name, f"unknown Leadwire field {name!r}{did_you_mean(name, CRM_FIELDS)}")
                continue
            if isinstance(spec, str):
                fields.append(CrmField(name, spec, default_conflict))
            elif isinstance(spec, LDict):
                check_keys(spec, ("to", "conflict"), f"the write-back of {name}", problems, required=("to",))
                if isinstance(spec.get("to"), str):
                    conflict = _choice(spec, "conflict", CONFLICT_RULES, problems, default_conflict)
                    fields.append(CrmField(name, spec["to"], conflict))
            else:
                problems.at(raw, name, f"{name}: give the CRM field name, or {{to: name, conflict: rule}}")
    obj = data.get("object")
    if not isinstance(obj, str):
        return None
    return CrmMapping(display, obj, tuple(fields))
