"""Arbitrary payloads never crash the engine: they map (and decide), or fail with field-named errors."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.core.errors import InvalidLead
from connector.flows import Context, InMemoryIndex, RepView, decide, load_spec, map_payload
from tests.flows.helpers import NOW

SPEC = load_spec("flows.yaml", env={})
FIELDS = ["first_name", "last_name", "full_name", "email", "phone", "company", "website", "country", "state", "zip",
          "role", "employees", "industry", "form", "product_interest", "budget", "timeframe", "events", "utm_campaign"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40),
                    st.sampled_from(["ada@acme.com", "+1 415 555 0132", "Germany", "CA", "CEO", "demo_request", "1200"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=6)
payloads = st.one_of(st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS)),
                     st.dictionaries(st.text(max_size=8), values, max_size=5), values)
NAMES = set(FIELDS) | {"name", "payload", "region", "product", "campaign", "title", "city", "postal_code", "street",
                       "budget", "authority", "need", "timing", "company_domain"} | \
        {"attributes." + k for k in ("form", "role", "employees", "industry", "events", "consent")}
REPS = [RepView(i, f"r{i}@x.com", f"R{i}", team=t) for i, t in enumerate(["na_insight", "na_sentinel", "emea"], 1)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads, st.sampled_from(sorted(SPEC.sources)))
def test_any_payload_maps_or_names_its_bad_fields(payload, source):
    try:
        lead = map_payload(SPEC, source, payload)
    except InvalidLead as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.field and error.problem
            assert error.field in NAMES or error.field in {"hubspot_id", "salesforce_id", "latitude", "longitude"} or \
                error.field.startswith("attributes."), error
        return
    decision = decide(SPEC, lead, Context(NOW, InMemoryIndex(), REPS))
    assert decision.outcome in ("routed", "nurture", "rejected", "duplicate")
    assert 0 <= decision.score <= 100
    json.dumps(decision.as_dict())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "first_name": st.sampled_from(["Ada", "Alan", "Grace"]), "last_name": st.sampled_from(["Lovelace", "Turing"]),
    "email": st.sampled_from(["ada@acme.com", "alan@acme.com", "g@initech.io"]),
    "phone": st.sampled_from(["+1 415 555 0132", "+1 212 555 0100"]), "company": st.sampled_from(["Acme", "Acme Inc", "Initech"]),
    "form": st.sampled_from(["demo_request", "newsletter"]), "role": st.sampled_from(["CEO", "Analyst"])}), max_size=8))
def test_a_stream_of_similar_leads_always_decides(stream):
    index = InMemoryIndex()
    for payload in stream:
        lead = map_payload(SPEC, "website", payload)
        decision = decide(SPEC, lead, Context(NOW, index, REPS))
        if decision.outcome == "duplicate":
            assert decision.duplicate.lead_id <= index.stored
        else:
            index.add(lead)
