"""decide(): a mapped lead + a context snapshot → a Decision with its reasons. Pure: no I/O, time from ctx."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.core.errors import NotFound
from connector.flows import mapping
from connector.flows.matching import AccountMatch, DuplicateMatch, MatchIndex, find_duplicate, match_account
from connector.flows.model import BANT_FIELDS, Flow, Spec
from connector.flows.normalize import FREE_MAIL
from connector.flows.ownership import owner_rule
from connector.flows.routing import RepBook, RepView, RoutingPlan, plan


@dataclass
class Context:
    """What the engine may know besides the lead: the time, stored leads (by index) and the reps."""

    now: datetime
    index: MatchIndex
    reps: list[RepView] = field(default_factory=list)
    lead_id: int | None = None  # deciding a stored lead again: it is nobody's duplicate, least of all its own
    rep_book: RepBook | None = None  # the reps already indexed (a worker's snapshot); else built from `reps`
    _book: RepBook | None = field(default=None, init=False, repr=False)
    _tz_cache: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def book(self) -> RepBook:
        if self._book is None:
            self._book = self.rep_book if self.rep_book is not None else RepBook(self.reps)
        return self._book


@dataclass(frozen=True)
class Decision:
    """What the engine decided for one lead, and why."""

    outcome: str  # routed | nurture | rejected | duplicate
    flow: str | None
    score: int
    mql_level: int | None
    breakdown: dict[str, dict]
    bant: dict[str, Any]
    duplicate: DuplicateMatch | None = None
    account: AccountMatch | None = None
    nurture_stream: str | None = None
    reject_reason: str | None = None
    plan: RoutingPlan | None = None
    reasons: tuple[str, ...] = ()

    @property
    def team(self) -> str | None:
        return self.plan.team if self.plan else None

    def as_dict(self) -> dict:
        """JSON-safe form (stored on the timeline, returned by the API and simulate --format json)."""
        return {
            "outcome": self.outcome, "flow": self.flow, "score": self.score, "mql_level": self.mql_level,
            "breakdown": self.breakdown, "bant": self.bant,
            "duplicate": self.duplicate.as_dict() if self.duplicate else None,
            "account": self.account.as_dict() if self.account else None,
            "nurture_stream": self.nurture_stream, "reject_reason": self.reject_reason,
            "team": self.team, "plan": self.plan.as_dict() if self.plan else None, "reasons": list(self.reasons),
        }


def map_payload(spec: Spec, source_name: str, payload: Any) -> dict:
    """Canonical lead fields (plus `source`) from a payload, or InvalidLead naming every bad field."""
    source = spec.sources.get(source_name)
    if source is None:
        raise NotFound(f"no source named {source_name!r} in {spec.file}")
    lead = mapping.apply(source, payload)
    lead["source"] = source_name
    return lead


def facts_for(lead: dict, score: int, level: int | None) -> dict:
    """The lead plus the derived facts conditions may test (score, mql_level, email_domain, ...)."""
    facts = dict(lead)
    email = lead.get("email") or ""
    domain = email.rsplit("@", 1)[1] if "@" in email else None
    events = (lead.get("attributes") or {}).get("events")
    facts.update(score=score, mql_level=level, email_domain=domain, free_email=domain in FREE_MAIL if domain else None,
                 bant_known=sum(1 for f in BANT_FIELDS if lead.get(f)),
                 event_types=[e.get("type") for e in events if isinstance(e, dict)] if isinstance(events, list) else [])
    return facts


def _pick_flow(spec: Spec, facts: dict) -> Flow | None:
    for flow in spec.flows:
        if flow.when is None or flow.when.test(facts):
            return flow
    return None


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}x{v}" for k, v in value.items()) or "none"
    return f"{value!s:.30}"


def _score_reason(score: int, level: int | None, breakdown: dict[str, dict]) -> str:
    parts = [f"{name} {_shown(entry['value'])} {entry['points']:+g}"
             for name, entry in sorted(breakdown.items(), key=lambda kv: -abs(kv[1]["points"])) if entry["points"]]
    mql = f"MQL {level}" if level else "below MQL 1"
    return f"score {score} ({mql}): " + (", ".join(parts) if parts else "no scored attribute present")


def _account_reason(account: AccountMatch, now: datetime) -> str:
    known = f"account {account.account_id}" if account.account_id else "new account"
    if account.owner_rep_id is None:
        owned = ", no owner"
    elif account.current_owner(now) is None:
        owned = f", owner rep {account.owner_rep_id} until {account.owner_until:%Y-%m-%d} (lapsed)"
    else:
        until = f" until {account.owner_until:%Y-%m-%d}" if account.owner_until else ""
        owned = f", owner rep {account.owner_rep_id}{until}"
    worked = f", lead {account.worked_lead_id} being worked by rep {account.worked_by}" \
        if account.worked_lead_id is not None else ""
    return f"account {account.domain} ({known}{owned}{worked})"


def decide(spec: Spec, lead: dict, ctx: Context) -> Decision:
    """Score, pick the flow, match duplicates and account, qualify, and plan routing — with reasons."""
    score, level, breakdown = spec.scorer.score(lead, ctx.now)
    facts = facts_for(lead, score, level)
    bant = {f: lead.get(f) for f in BANT_FIELDS}
    bant["known"] = facts["bant_known"]
    reasons = [_score_reason(score, level, breakdown)]
    flow = _pick_flow(spec, facts)
    base = dict(score=score, mql_level=level, breakdown=breakdown, bant=bant)
    if flow is None:
        reasons.append(f"no flow matched; nurture stream {spec.default_stream}")
        return Decision("nurture", None, nurture_stream=spec.default_stream, reasons=tuple(reasons), **base)
    facts["flow"] = flow.name
    reasons.append(f"flow {flow.name}: " + (f"matched {flow.when.text}" if flow.when else "catch-all"))
    duplicate = (find_duplicate(lead, flow.duplicates, ctx.index)
                 if flow.duplicates.rules and ctx.lead_id is None else None)
    account = match_account(lead, ctx.index, ctx.lead_id) if flow.account_match else None
    if account:
        reasons.append(_account_reason(account, ctx.now))
    if duplicate:
        how = {"email": "same e-mail", "phone": "same phone",
               "name_company": "similar name at the same company"}[duplicate.rule]
        reasons.append(f"duplicate of lead {duplicate.lead_id}: {how} ({duplicate.similarity:g}%); "
                       f"action {duplicate.action}")
        if duplicate.action == "merge":
            return Decision("duplicate", flow.name, duplicate=duplicate, account=account, reasons=tuple(reasons),
                            **base)
    outcome, stream, reject = "routed", None, None
    for rule in flow.qualify:
        if rule.when is None or rule.when.test(facts):
            outcome, stream, reject = rule.outcome, rule.stream, rule.reason
            cause = f"because {rule.when.text}" if rule.when else "(default rule)"
            break
    else:
        if flow.qualify:
            outcome, stream, cause = "nurture", spec.default_stream, "(no qualify rule matched)"
        else:
            cause = "(flow has no qualify rules)"
    detail = {"routed": "routed", "nurture": f"nurture stream {stream}", "rejected": f"rejected: {reject}"}[outcome]
    reasons.append(f"qualify: {detail} {cause}")
    routing = None
    if outcome == "routed":
        owner = (account.current_owner(ctx.now) if account else None) or \
            (duplicate.owner_rep_id if duplicate else None)
        routing, why = plan(flow, facts, ctx.book, ctx.now, owner, ctx._tz_cache,
                            owner_rule(flow.account, account, ctx.now))
        reasons.extend(why)
    return Decision(outcome, flow.name, duplicate=duplicate, account=account, nurture_stream=stream,
                    reject_reason=reject, plan=routing, reasons=tuple(reasons), **base)
