"""decide(): duplicates, accounts, qualification branches, routing plan and reasons."""
from __future__ import annotations

import json

import pytest

from connector.flows import AccountRef, Context, InMemoryIndex, RepView, decide, map_payload
from tests.flows.helpers import BASE, FLOWS, NOW, spec

HOT = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.com", "phone": "+1 415 555 0132",
       "company": "Acme Inc", "country": "US", "role": "executive", "employees": 5000, "form": "demo_request"}


@pytest.fixture
def loaded(tmp_path):
    return spec(tmp_path)


def run(loaded, payload, index=None, reps=()):
    lead = map_payload(loaded, "web", payload)
    return decide(loaded, lead, Context(NOW, index if index is not None else InMemoryIndex(), list(reps))), lead


def test_hot_lead_is_routed_with_a_plan_and_reasons(loaded):
    reps = [RepView(1, "na1@x.com", "NA One", team="na"), RepView(2, "eu@x.com", "EU", team="emea"),
            RepView(3, "na2@x.com", "NA Two", team="na", open_offers=5, max_open_offers=5)]
    decision, _ = run(loaded, HOT, reps=reps)
    assert (decision.outcome, decision.flow, decision.mql_level) == ("routed", "hot", 3)
    assert decision.plan.team == "na"
    by_rep = {c.rep_id: c for c in decision.plan.candidates}
    assert set(by_rep) == {1, 3} and by_rep[1].kept and not by_rep[3].kept
    assert "capacity" in by_rep[3].reason
    assert decision.plan.offer.window.total_seconds() == 300
    text = "\n".join(decision.reasons)
    assert "score 70 (MQL 3)" in text and "flow hot: matched mql_level >= 2" in text and "team na" in text
    json.dumps(decision.as_dict())  # JSON-safe


def test_team_rules_pick_emea_for_germany(loaded):
    decision, _ = run(loaded, {**HOT, "country": "Germany", "phone": "+49 89 1234567"})
    assert decision.plan.team == "emea" and "country in [DE, FR]" in " ".join(decision.reasons)


def test_rejected_with_reason(loaded):
    decision, _ = run(loaded, {**HOT, "role": "student", "form": "demo_request", "employees": 5000,
                               "events": ["webinar_attended"] * 2})
    assert decision.score >= 45, decision.reasons
    assert (decision.outcome, decision.reject_reason, decision.plan) == ("rejected", "student", None)
    assert "qualify: rejected: student because attributes.role = student" in decision.reasons


def test_nurture_names_its_stream(loaded):
    cold = {**HOT, "role": "manager", "form": "newsletter", "employees": 20}
    decision, _ = run(loaded, {**cold, "product": "Widgets"})
    assert (decision.outcome, decision.flow, decision.nurture_stream) == ("nurture", "cold", "cold")
    decision, _ = run(loaded, cold)
    assert (decision.outcome, decision.nurture_stream) == ("nurture", "mainline")  # the default stream


def test_no_flow_matching_means_default_nurture(tmp_path):
    only_hot = spec(tmp_path, BASE + FLOWS.split("  - name: cold")[0])
    decision, _ = run(only_hot, {**HOT, "form": "newsletter", "role": "manager"})
    assert (decision.outcome, decision.flow, decision.nurture_stream) == ("nurture", None, "mainline")


@pytest.mark.parametrize("change,rule", [
    ({"email": "ADA@acme.com", "phone": "+1 212 555 0100", "first_name": "Zed"}, "email"),
    ({"email": "other@acme.com", "first_name": "Zed"}, "phone"),
    ({"email": "a.lovelace@acme.com", "phone": "+1 212 555 0100", "last_name": "Lovelance", "company": "ACME Corp."},
     "name_company"),
])
def test_each_duplicate_rule_finds_the_stored_lead(loaded, change, rule):
    index = InMemoryIndex()
    first = map_payload(loaded, "web", HOT)
    index.add(first, lead_id=41, owner_rep_id=7)
    decision, _ = run(loaded, {**HOT, **change}, index)
    assert decision.outcome == "duplicate"
    assert (decision.duplicate.lead_id, decision.duplicate.rule, decision.duplicate.action) == (41, rule, "merge")
    assert decision.plan is None
    assert "duplicate of lead 41" in " ".join(decision.reasons)


def test_different_person_at_the_same_company_is_not_a_duplicate(loaded):
    index = InMemoryIndex()
    index.add(map_payload(loaded, "web", HOT), lead_id=41)
    decision, _ = run(loaded, {**HOT, "email": "bob@acme.com", "phone": "+1 212 555 0100",
                               "first_name": "Bob", "last_name": "Smith"}, index)
    assert decision.duplicate is None and decision.outcome == "routed"


def test_link_action_keeps_qualifying_and_prefers_the_existing_owner(tmp_path):
    flows = FLOWS.replace("      filters: [territory, capacity]",
                          "      filters: [account_owner, territory, capacity]\n    duplicates: {action: link}")
    loaded = spec(tmp_path, BASE + flows)
    index = InMemoryIndex()
    index.add(map_payload(loaded, "web", HOT), lead_id=9, owner_rep_id=2)
    reps = [RepView(1, "a@x.com", "A", team="na"), RepView(2, "b@x.com", "B", team="na")]
    decision, _ = run(loaded, {**HOT, "first_name": "Zed"}, index, reps)
    assert decision.outcome == "routed" and decision.duplicate.action == "link"
    assert decision.plan.kept[0] == 2


def test_account_matching_by_domain_excludes_free_mail(loaded):
    index = InMemoryIndex()
    index.add_account(AccountRef(5, "acme.com", owner_rep_id=3))
    decision, _ = run(loaded, HOT, index)
    assert decision.account.as_dict() == {"domain": "acme.com", "account_id": 5, "owner_rep_id": 3}
    decision, _ = run(loaded, {**HOT, "email": "ada@gmail.com"}, index)
    assert decision.account is None
    decision, _ = run(loaded, {**HOT, "email": "ada@newco.io"}, index)
    assert decision.account.as_dict() == {"domain": "newco.io", "account_id": None, "owner_rep_id": None}


def test_in_memory_index_lookups_are_by_key(loaded):
    index = InMemoryIndex()
    for i in range(3):
        index.add({"email": f"p{i}@acme.com", "phone": "+14155550132", "company_key": "acme", "first_name": "P"})
    assert [r.id for r in index.by_email("p1@acme.com")] == [2]
    assert len(index.by_phone("+14155550132")) == 3
    assert [r.id for r in index.by_company_key("acme", 2)] == [2, 3]
    assert index.by_email("nobody@acme.com") == [] and index.account("acme.com") is None
