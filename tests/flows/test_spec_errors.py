"""Every class of spec error is reported as file:line: message, all of them at once."""
from __future__ import annotations

import re

import pytest

from tests.flows.helpers import BASE, FLOWS, line_of, problems, spec

_PLACE = re.compile(r"^(.*?):(\d+): (.*)$", re.S)


def _place(problem: str) -> tuple[str, int, str]:
    m = _PLACE.match(problem)
    assert m, f"not file:line: message: {problem!r}"
    return m.group(1), int(m.group(2)), m.group(3)


def _at(found: list[str], file: str, line: int, *words: str) -> None:
    hits = [p for p in found if _place(p)[0].endswith(file) and _place(p)[1] == line and all(w in p for w in words)]
    assert hits, f"no problem at {file}:{line} with {words}: {found}"


def test_the_test_spec_itself_is_valid(tmp_path):
    loaded = spec(tmp_path)
    assert [f.name for f in loaded.flows] == ["hot", "cold"]
    assert loaded.sources["web"].required == ["name", "company", "email", "phone"]


def test_yaml_syntax_error_names_its_line(tmp_path):
    text = BASE + FLOWS + "  - name: broken\n    when: {source: [web\n"
    found = problems(tmp_path, text)
    assert any("YAML syntax" in p for p in found)
    assert _place(found[0])[1] >= line_of(text, "name: broken")


def test_unknown_keys_get_a_did_you_mean(tmp_path):
    text = BASE + FLOWS.replace("  - name: cold\n", "  - name: cold\n    qualfy: []\n") + "flow: []\n"
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "qualfy"), "unknown key 'qualfy'", 'did you mean "qualify"')
    _at(found, "flows.yaml", line_of(text, "flow: []"), "unknown key 'flow'", 'did you mean "flows"')


def test_wrong_types_are_named(tmp_path):
    text = BASE + FLOWS.replace("      filters: [territory, capacity]\n",
                                "      filters: [territory, capacity]\n    offer: {window: 5, max_offers: many}\n")
    found = problems(tmp_path, text)
    line = line_of(text, "offer: {window")
    _at(found, "flows.yaml", line, "offer window must be a duration")
    _at(found, "flows.yaml", line, "max_offers must be a whole number")


@pytest.mark.parametrize("window,ok", [("1m", False), ("2m", True), ("5m", True), ("2w", True), ("15d", False), ("3w", False)])
def test_offer_window_must_be_between_two_minutes_and_two_weeks(tmp_path, window, ok):
    text = BASE + FLOWS.replace("      filters: [territory, capacity]\n",
                                f"      filters: [territory, capacity]\n    offer:\n      window: {window}\n")
    if ok:
        assert spec(tmp_path, text).flow("hot").offer.window.total_seconds() > 0
    else:
        _at(problems(tmp_path, text), "flows.yaml", line_of(text, f"window: {window}"), "outside the allowed range 2m to 2w")


def test_missing_references(tmp_path):
    text = (BASE.replace("mapping: form.yaml", "mapping: nowhere.yaml")
            + FLOWS.replace("stream: cold", "stream: frozen")
            + "    feedback: {lost_to_nurture: revival}\n"
            + "    crm: {hubspot: crm/missing.yaml}\n")
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "nowhere.yaml"), "mapping file 'nowhere.yaml' not found")
    _at(found, "flows.yaml", line_of(text, "stream: frozen"), "nurture stream 'frozen' is not declared")
    _at(found, "flows.yaml", line_of(text, "lost_to_nurture"), "nurture stream 'revival'")
    _at(found, "flows.yaml", line_of(text, "crm/missing.yaml"), "mapping file 'crm/missing.yaml' not found")


def test_unknown_source_kind_and_default_country(tmp_path):
    text = BASE.replace("kind: form", "kind: webform").replace("default_country: US", "default_country: Narnia") + FLOWS
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "kind: webform"), "kind must be one of form, api")
    _at(found, "flows.yaml", line_of(text, "Narnia"), "default_country", "not a known country")


def test_flow_after_a_catch_all_is_unreachable(tmp_path):
    text = BASE + FLOWS + "  - name: never\n    when: {source: web}\n    qualify: [{outcome: routed}]\n"
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "when: {source: web}"), "flow 'never' is unreachable", "'cold'", "matches every lead")


def test_flow_shadowed_by_a_wider_earlier_flow_is_unreachable(tmp_path):
    text = BASE + """\
flows:
  - name: web_or_api
    when: {source: [web, api]}
  - name: web_only
    when: {source: web}
"""
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "when: {source: web}"), "flow 'web_only' is unreachable", "'web_or_api'")


def test_overlapping_whens_on_the_same_fields(tmp_path):
    text = BASE + """\
flows:
  - name: mid
    when: {score: {gte: 30}, campaign: [spring, summer]}
  - name: high
    when: {score: {gte: 50}, campaign: [summer, autumn]}
  - name: disjoint
    when: {score: {lt: 30}, campaign: [summer]}
  - name: narrower_first_is_fine
    when: {country: DE}
  - name: wider_later
    when: {country: [DE, AT]}
"""
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "autumn"), "flow 'high' overlaps flow 'mid'", "campaign, score")
    assert len(found) == 1, found


def test_scoring_weights_follow_the_template_rules(tmp_path):
    text = (BASE.replace("  demographic:\n    weight: 40", "  demographic:\n    weight: 55")
            .replace("webinar_attended: {points: 6", "webinar_attended: {points: 16")
            .replace("manager: 5,", "manager: 11,")) + FLOWS
    found = problems(tmp_path, text)
    _at(found, "flows.yaml", line_of(text, "weight: 55"), "demographic section's weight is 55%", "may not exceed 50%")
    _at(found, "flows.yaml", line_of(text, "scoring:"), "weights total 115%", "must total 100%")
    _at(found, "flows.yaml", line_of(text, "manager: 11"), "from -10 to 10")
    _at(found, "flows.yaml", line_of(text, "points: 16"), "points must be a number from -10 to 10")


def test_thresholds_must_rise(tmp_path):
    text = BASE.replace("{mql1: 20, mql2: 45, mql3: 70}", "{mql1: 50, mql2: 45, mql3: 70}") + FLOWS
    _at(problems(tmp_path, text), "flows.yaml", line_of(text, "thresholds"), "mql1 < mql2 < mql3")


def test_condition_errors(tmp_path):
    text = BASE + FLOWS.replace("when: {mql_level: {gte: 2}}", "when: {mql_levle: {gte: 2}, country: {greater: 3}}")
    found = problems(tmp_path, text)
    line = line_of(text, "mql_levle")
    _at(found, "flows.yaml", line, "unknown field 'mql_levle'", 'did you mean "mql_level"')
    _at(found, "flows.yaml", line, "country: expected one operator of eq")


def test_duplicate_keys_and_unknown_crm_conflict_rule(tmp_path):
    crm = "object: contact\nfields:\n  email: {to: email, conflict: crm_always}\n  scor: leadwire_score\n"
    text = BASE + FLOWS + "    crm: {hubspot: crm.yaml}\n    account_match: true\n    account_match: false\n"
    found = problems(tmp_path, text, {"crm.yaml": crm})
    _at(found, "flows.yaml", line_of(text, "account_match: false"), "duplicate key 'account_match'", "first at line")
    _at(found, "crm.yaml", 3, "conflict must be one of leadwire_wins, crm_wins, newest_wins")
    _at(found, "crm.yaml", 4, "unknown Leadwire field 'scor'", 'did you mean "score"')


def test_mapping_file_problems_carry_the_mapping_file_name(tmp_path):
    mapping = "fields:\n  emial: {from: email}\n  phone: {from: phone, normalize: e164}\n  company: {from: company, type: number}\n"
    found = problems(tmp_path, BASE + FLOWS, {"form.yaml": mapping})
    _at(found, "form.yaml", 2, "unknown lead field 'emial'", 'did you mean "email"')
    _at(found, "form.yaml", 3, "unknown normaliser 'e164'")
    _at(found, "form.yaml", 4, "unknown type 'number'")


def test_missing_environment_variable_is_a_problem(tmp_path):
    text = BASE + FLOWS + "    offer: {escalate_to: '${ESCALATE_TO}'}\n"
    _at(problems(tmp_path, text), "flows.yaml", line_of(text, "ESCALATE_TO"), "ESCALATE_TO is not set")


def test_every_problem_is_reported_at_once(tmp_path):
    text = (BASE.replace("kind: form", "kind: webform").replace("weight: 40", "weight: 60", 1)
            + FLOWS.replace("stream: cold", "stream: frozen") + "    offer: {window: 1m}\n")
    found = problems(tmp_path, text)
    assert len(found) >= 5, found
    assert all(_place(p)[1] > 0 for p in found)
