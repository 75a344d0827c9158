"""The Salesforce adapter driving simple-salesforce against the sandbox (HTTPS, self-signed CA)."""
from __future__ import annotations

import pytest

from connector.core.errors import CrmRejectedError
from connector.crm.base import Change
from connector.crm.salesforce import soql_datetime


def lead(key: str, **fields) -> Change:
    return Change(key, {"LastName": f"L{key}", "Company": "Acme", **fields}, external_id=key)


def test_sdk_single_record_operations_use_salesforce_status_codes(salesforce, sandbox):
    sf = salesforce.sf
    leads = sf.Lead  # an SFType: each keeps its own api_usage
    created = leads.create({"LastName": "Ng", "Company": "Acme"})
    assert created["success"] and created["id"].startswith("00Q")
    assert leads.update(created["id"], {"Status": "Working - Contacted"}) == 204
    assert leads.get(created["id"])["Status"] == "Working - Contacted"
    assert leads.upsert("Leadwire_Id__c/77", {"LastName": "Up", "Company": "Acme"}) == 201
    assert leads.upsert("Leadwire_Id__c/77", {"FirstName": "Again"}) == 200
    assert leads.get_by_custom_id("Leadwire_Id__c", "77")["FirstName"] == "Again"
    assert leads.api_usage["api-usage"].used == sandbox.faults.salesforce_api_used


def test_collection_upsert_then_update_with_per_record_results(salesforce, sandbox):
    results = salesforce.push([lead("1"), lead("2", Status="Nonsense"), lead("3", OwnerId="005nobody")])
    by_key = {r.key: r for r in results}
    assert by_key["1"].ok
    assert by_key["2"].status == "parked" and "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in by_key["2"].message
    assert by_key["3"].status == "parked" and "INVALID_CROSS_REFERENCE_KEY" in by_key["3"].message
    again = salesforce.push([Change("1", {"Status": "Working - Contacted"}, record_id=by_key["1"].record_id)])
    assert again[0].ok
    assert sandbox.state.leads[by_key["1"].record_id]["Status"] == "Working - Contacted"
    assert sandbox.calls("composite/sobjects/<sobject>/<field>") == 1 and sandbox.calls("PATCH /services/data/<version>/composite/sobjects") == 2


def test_collections_refuse_more_than_200_records(salesforce, sandbox):
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Lead"}, "LastName": "x", "Company": "y"}] * 201}
    with pytest.raises(CrmRejectedError, match="EXCEEDED_ID_LIMIT"):
        salesforce._call("create", lambda: salesforce.sf.restful("composite/sobjects", method="POST", json=body))
    assert sandbox.state.leads == {}


def test_all_or_none_rolls_back_the_whole_collection(salesforce, sandbox):
    body = {"allOrNone": True, "records": [{"attributes": {"type": "Lead"}, "LastName": "x", "Company": "y"},
                                           {"attributes": {"type": "Lead"}, "LastName": "z"}]}
    results = salesforce.sf.restful("composite/sobjects", method="POST", json=body)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sandbox.state.leads == {}


def test_request_limit_exceeded_is_not_slept_inline_but_retried_later(salesforce, sandbox, sleeps):
    sandbox.set_faults(salesforce_api_used=15000, salesforce_api_limit=15000)
    results = salesforce.push([lead("1")])
    assert results[0].status == "retry" and results[0].retry_after == 300.0
    assert "REQUEST_LIMIT_EXCEEDED" in results[0].message and "403" in results[0].message
    assert sleeps == [] and sandbox.state.leads == {}


def test_the_adapter_slows_down_as_api_usage_nears_the_limit(salesforce, sandbox, sleeps):
    sandbox.set_faults(salesforce_api_used=100, salesforce_api_limit=1000)
    salesforce.push([lead("1")])
    assert sleeps == []
    sandbox.set_faults(salesforce_api_used=949)
    salesforce.push([lead("2")])
    assert len(sleeps) == 1 and sleeps[0] == pytest.approx(salesforce.max_pause * 0.75)


def test_server_errors_are_retried(salesforce, sandbox, sleeps):
    sandbox.set_faults(error_rate=1.0)
    results = salesforce.push([lead("1")])
    assert results[0].status == "retry" and "UNKNOWN_EXCEPTION" in results[0].message
    assert len(sleeps) == salesforce.retry.attempts - 1
    sandbox.set_faults(error_rate=0.0)
    assert salesforce.push([lead("1")])[0].ok


def test_changes_since_follows_next_records_url(salesforce, sandbox):
    sandbox.set_faults(query_page_size=200)
    for i in range(450):
        sandbox.salesforce_edit(None, {"LastName": f"L{i}", "Company": "Acme"})
    changes, cursor = salesforce.changes_since(None)
    assert len(changes) == 450 and sandbox.calls("query") == 3
    assert changes[0].fields["LastName"] == "L0" and cursor == soql_datetime(changes[-1].fields["SystemModstamp"])
    sandbox.salesforce_edit(changes[3].record_id, {"Status": "Working - Contacted"})
    later, newer = salesforce.changes_since(cursor)
    # SOQL literals have whole seconds: the watermark never passes a change made in its own second
    assert later[-1].record_id == changes[3].record_id and newer >= cursor


def test_read_and_owners(salesforce, sandbox):
    user = sandbox.state.add_user("rita@example.com", "Rita Rep")
    rid = sandbox.salesforce_edit(None, {"LastName": "A", "Company": "B"})["Id"]
    assert salesforce.read([rid])[rid]["LastName"] == "A"
    # Leadwire's own integration user (a user of the org too) is no owner for a lead
    assert [(o.id, o.email) for o in salesforce.owners()] == [(user["Id"], "rita@example.com")]
