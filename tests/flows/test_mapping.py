"""Mapping payloads to canonical lead fields: renames, nesting, defaults, maps, splits, types, required."""
from __future__ import annotations

import pytest

from connector.core.errors import InvalidLead, NotFound
from connector.flows import load_spec, map_payload
from tests.flows.helpers import BASE, FLOWS, spec

RICH = """\
fields:
  email: {from: properties.email, normalize: email}
  phone: {from: [properties.phone, properties.mobilephone], normalize: phone}
  company: {from: properties.company}
  country: {from: properties.country, normalize: country, default: GB}
  region: {from: properties.state, normalize: subdivision}
  product:
    from: properties.interest
    map: {Analytics: insight, Security: sentinel}
    otherwise: error
  campaign: {const: spring-launch}
  title: {concat: [properties.seniority, properties.jobtitle], sep: " / "}
  hubspot_id: {from: id, type: str}
  attributes.employees: {from: properties.employees, type: int}
  attributes.newsletter: {from: properties.newsletter, type: bool}
  attributes.tags: {from: properties.tags, type: list}
split:
  - {from: properties.name, into: [first_name, last_name]}
"""


@pytest.fixture
def hub(tmp_path):
    flows = BASE.replace("sources:\n", "sources:\n  hub:\n    kind: hubspot\n    mapping: hub.yaml\n    required: [name, email]\n")
    return spec(tmp_path, flows + FLOWS, {"hub.yaml": RICH})


def test_nested_paths_maps_consts_concat_split_and_types(hub):
    lead = map_payload(hub, "hub", {"id": 501, "properties": {
        "email": "Mary.Ann@Acme.COM", "mobilephone": "020 7946 0958", "company": "Acme Ltd", "state": "Scotland",
        "interest": "security", "seniority": "VP", "jobtitle": "Sales", "employees": "1,200", "newsletter": "yes",
        "tags": "vip; partner", "name": "mary ann SMITH"}})
    assert lead["email"] == "mary.ann@acme.com"
    assert lead["phone"] == "+442079460958"          # read in the default country GB
    assert lead["country"] == "GB" and lead["region"] == "GB-SCT"
    assert lead["product"] == "sentinel"             # value maps ignore case
    assert lead["campaign"] == "spring-launch"
    assert lead["title"] == "VP / Sales"
    assert lead["hubspot_id"] == "501"
    assert (lead["first_name"], lead["last_name"]) == ("Mary Ann", "Smith")
    assert lead["attributes"] == {"employees": 1200, "newsletter": True, "tags": ["vip", "partner"]}
    assert lead["company_key"] == "acme" and lead["company_domain"] == "acme.com"
    assert lead["source"] == "hub"


def test_every_bad_field_is_named_at_once(hub):
    with pytest.raises(InvalidLead) as caught:
        map_payload(hub, "hub", {"properties": {"email": "nope", "phone": "12", "interest": "gardening",
                                                "employees": "lots", "country": "Atlantis"}})
    named = {e.field: e.problem for e in caught.value.errors}
    assert set(named) == {"email", "phone", "product", "attributes.employees", "country", "name"}
    assert "not one of" in named["product"] and "whole number" in named["attributes.employees"]
    assert named["name"].startswith("is required")


def test_required_fields_default_to_name_company_email_phone(tmp_path):
    loaded = spec(tmp_path)
    with pytest.raises(InvalidLead) as caught:
        map_payload(loaded, "web", {"email": "a@b.com"})
    assert [e.field for e in caught.value.errors] == ["name", "company", "phone"]
    lead = map_payload(loaded, "web", {"last_name": "only", "email": "a@b.com", "company": "B", "phone": "+1 212 555 0100"})
    assert lead["last_name"] == "Only"


def test_unknown_source_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        map_payload(spec(tmp_path), "fax", {})


def test_non_object_payload_is_invalid(tmp_path):
    with pytest.raises(InvalidLead) as caught:
        map_payload(spec(tmp_path), "web", ["not", "an", "object"])
    assert caught.value.errors[0].field == "payload"


def test_too_long_values_are_refused_before_the_database_would(tmp_path):
    with pytest.raises(InvalidLead) as caught:
        map_payload(spec(tmp_path), "web", {"first_name": "x" * 300, "email": "a@b.com", "company": "B",
                                            "phone": "+1 212 555 0100"})
    assert caught.value.errors[0].field == "first_name" and "128" in caught.value.errors[0].problem


def test_events_are_normalised_for_scoring(tmp_path):
    lead = map_payload(spec(tmp_path), "web", {"first_name": "a", "email": "a@b.com", "company": "B",
                                               "phone": "+1 212 555 0100",
                                               "events": [{"type": "Webinar_Attended", "at": "2026-02-20T10:00:00+01:00"},
                                                          "email_opened"]})
    assert lead["attributes"]["events"] == [{"type": "webinar_attended", "at": "2026-02-20T09:00:00+00:00"},
                                            {"type": "email_opened", "at": None}]


def test_shipped_webform_mapping_reads_a_real_form_post():
    shipped = load_spec("flows.yaml", env={})
    lead = map_payload(shipped, "website", {
        "full_name": "grace hopper", "email": "grace@navy.mil", "phone": "(202) 555-0114", "company": "US Navy",
        "website": "https://www.navy.mil", "country": "United States", "state": "Virginia", "form": "Demo_Request",
        "product_interest": "Insight Analytics", "budget": "50k-100k", "timeframe": "This quarter",
        "purchase_role": "I make the decision", "role": "CTO", "employees": "5000", "utm_campaign": "Spring-Webinar"})
    assert (lead["first_name"], lead["last_name"]) == ("Grace", "Hopper")
    assert lead["region"] == "US-VA" and lead["phone"] == "+12025550114" and lead["company_domain"] == "navy.mil"
    assert (lead["budget"], lead["authority"], lead["timing"]) == ("50k_100k", "decision_maker", "this_quarter")
    assert lead["product"] == "insight" and lead["campaign"] == "spring-webinar"
    assert lead["attributes"]["role"] == "executive" and lead["attributes"]["form"] == "demo_request"
