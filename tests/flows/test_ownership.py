"""The company-wide view in the pure engine: an account's current owner is offered its leads first, even
without the account_owner filter; while a sibling is worked, only the owner is; lapsed owners and the
lead decided again are left out; route_to_owner: false turns it off."""
from __future__ import annotations

from datetime import timedelta

from connector.flows import AccountRef, Context, InMemoryIndex, RepView, decide, map_payload
from connector.flows.matching import AccountMatch, WorkedLead
from connector.flows.model import AccountSpec
from connector.flows.ownership import ONLY_OWNER, owner_rule
from tests.flows.helpers import BASE, FLOWS, NOW, spec

HOT = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.com", "phone": "+1 415 555 0132",
       "company": "Acme Inc", "country": "US", "role": "executive", "employees": 5000, "form": "demo_request"}
REPS = [RepView(1, "a@x.com", "A", team="na"), RepView(2, "b@x.com", "B", team="na"),
        RepView(3, "c@x.com", "C", team="na"), RepView(4, "e@x.com", "E", team="emea")]
LATER = NOW + timedelta(days=30)


def _decide(tmp_path, account: AccountRef | None, *, flows=FLOWS, lead_id=None, reps=REPS):
    loaded = spec(tmp_path, BASE + flows)
    index = InMemoryIndex()
    if account:
        index.add_account(account)
    return decide(loaded, map_payload(loaded, "web", HOT), Context(NOW, index, list(reps), lead_id=lead_id))


def test_the_current_owner_comes_first_without_the_account_owner_filter(tmp_path):
    decision = _decide(tmp_path, AccountRef(5, "acme.com", owner_rep_id=2, owner_until=LATER))
    plan = decision.plan
    assert plan.kept[0] == 2 and set(plan.kept) == {1, 2, 3}         # first, the others still behind
    assert plan.candidates[0].reason == "account owner" and plan.linked_to is None
    assert plan.account_owner == 2
    assert any("owned by rep 2 until 2026-04-01; offered to the owner first" in r for r in decision.reasons)


def test_an_owner_of_another_team_is_still_offered_first(tmp_path):
    assert _decide(tmp_path, AccountRef(5, "acme.com", owner_rep_id=4)).plan.kept[0] == 4  # no end: the CRM's


def test_a_lapsed_owner_is_not_preferred(tmp_path):
    decision = _decide(tmp_path, AccountRef(5, "acme.com", owner_rep_id=3, owner_until=NOW))
    assert decision.plan.kept == [1, 2, 3] and decision.plan.account_owner is None
    assert any("owner rep 3 until 2026-03-02 (lapsed)" in r for r in decision.reasons)


def test_while_a_sibling_is_worked_only_the_owner_is_kept(tmp_path):
    account = AccountRef(5, "acme.com", owner_rep_id=2, owner_until=LATER, worked=(WorkedLead(7, 2),))
    decision = _decide(tmp_path, account)
    plan = decision.plan
    assert plan.kept == [2] and plan.linked_to == 7
    assert {c.rep_id: c.reason for c in plan.candidates if not c.kept} == {
        1: f"{ONLY_OWNER}: offered only to its owner", 3: f"{ONLY_OWNER}: offered only to its owner"}
    assert decision.account.as_dict()["worked_lead_id"] == 7
    assert any("lead 7 is being worked; linked to it and offered only to its owner rep 2" in r
               for r in decision.reasons)


def test_without_a_current_owner_the_rep_working_the_sibling_is_the_only_one(tmp_path):
    plan = _decide(tmp_path, AccountRef(5, "acme.com", worked=(WorkedLead(7, 3),))).plan
    assert plan.kept == [3] and plan.linked_to == 7


def test_an_owner_who_cannot_take_it_leaves_nobody_kept(tmp_path):
    busy = [*REPS[:1], RepView(2, "b@x.com", "B", team="na", open_offers=5, max_open_offers=5), *REPS[2:]]
    account = AccountRef(5, "acme.com", owner_rep_id=2, worked=(WorkedLead(7, 2),))
    plan = _decide(tmp_path, account, reps=busy).plan
    assert plan.kept == [] and plan.hold_until is None                  # escalated, never a competing rep


def test_the_lead_decided_again_is_not_its_own_worked_sibling(tmp_path):
    account = AccountRef(5, "acme.com", owner_rep_id=2, owner_until=LATER, worked=(WorkedLead(7, 2),))
    plan = _decide(tmp_path, account, lead_id=7).plan
    assert plan.kept[0] == 2 and len(plan.kept) == 3 and plan.linked_to is None
    two = AccountRef(5, "acme.com", owner_rep_id=2, worked=(WorkedLead(7, 2), WorkedLead(6, 2)))
    assert _decide(tmp_path, two, lead_id=7).plan.linked_to == 6


def test_route_to_owner_false_turns_the_preference_off(tmp_path):
    flows = FLOWS.replace("      filters: [territory, capacity]",
                          "      filters: [territory, capacity]\n    account: {route_to_owner: false}")
    account = AccountRef(5, "acme.com", owner_rep_id=2, owner_until=LATER, worked=(WorkedLead(7, 2),))
    plan = _decide(tmp_path, account, flows=flows).plan
    assert plan.kept == [1, 2, 3] and plan.linked_to is None


def test_owner_rule_is_pure_over_the_account_match():
    spec_ = AccountSpec()
    assert owner_rule(spec_, None, NOW) is None
    assert owner_rule(spec_, AccountMatch("acme.com", 5), NOW) is None
    rule = owner_rule(spec_, AccountMatch("acme.com", 5, 2, LATER), NOW)
    assert (rule.rep_id, rule.only, rule.linked_to) == (2, False, None)
    rule = owner_rule(spec_, AccountMatch("acme.com", 5, 2, NOW, worked_lead_id=7, worked_by=3), NOW)
    assert (rule.rep_id, rule.only, rule.linked_to) == (3, True, 7)    # lapsed owner: the rep working it
