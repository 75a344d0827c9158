"""The Salesforce sandbox as strict as the real API, and what the adapter makes of it (simple-salesforce)."""
from __future__ import annotations

import pytest
import requests

from connector.crm.base import Change, RetryPolicy
from connector.crm.limits import MemoryLimits
from connector.crm.salesforce import SalesforceAdapter, soql_datetime


def lead(key: str, **fields) -> Change:
    return Change(key, {"LastName": f"L{key}", "Company": "Acme", **fields}, external_id=key)


def test_a_locked_row_is_retried_not_parked(salesforce, sandbox):
    sandbox.state.faults.salesforce_row_locks = 1
    first, second = salesforce.push([lead("1"), lead("2")])
    assert (first.status, second.status) == ("retry", "ok") and "UNABLE_TO_LOCK_ROW" in first.message
    assert salesforce.push([lead("1")])[0].ok


def test_per_record_refusals_park_only_their_record(salesforce, sandbox):
    written = {r.key: r for r in salesforce.push([lead("a"), lead("b", Email="b@example.com")])}
    converted = sandbox.state.leads[written["a"].record_id]
    converted["IsConverted"] = True
    results = {r.key: r for r in salesforce.push([
        Change("a", {"FirstName": "Late"}, record_id=written["a"].record_id),  # converted: read-only
        lead("long", FirstName="x" * 41),                                     # FirstName is 40 characters
        lead("dupe", Email="b@example.com"),                                  # the duplicate rule on Email
        lead("fine")])}
    assert "CANNOT_UPDATE_CONVERTED_LEAD" in results["a"].message and results["a"].status == "parked"
    assert "STRING_TOO_LONG" in results["long"].message and results["long"].status == "parked"
    assert "DUPLICATES_DETECTED" in results["dupe"].message and results["dupe"].status == "parked"
    assert results["fine"].ok
    assert "FirstName" not in converted


def test_the_poller_cursor_is_a_soql_datetime_literal(salesforce, sandbox):
    salesforce.push([lead("1")])
    changes, cursor = salesforce.changes_since(None)
    assert len(changes) == 1 and cursor == soql_datetime(changes[0].fields["SystemModstamp"])
    assert cursor.endswith("Z") and "." not in cursor
    again, _ = salesforce.changes_since(cursor)
    assert [c.record_id for c in again] == [changes[0].record_id]


def test_the_sandbox_refuses_what_soql_does_not_accept(salesforce, sandbox):
    url = f"{sandbox.tls_url}/services/data/v59.0/query"
    answer = requests.get(url, params={"q": "SELECT Id FROM Lead WHERE SystemModstamp >= 2026-01-05T09:00:00.000+0000"},
                          headers={"Authorization": "Bearer 00Dsandbox!token"}, verify=sandbox.ca_file, timeout=10)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_schema_check_names_what_the_org_lacks(salesforce, sandbox):
    assert salesforce.schema_problems(["FirstName", "Leadwire_Score__c", "Leadwire_Id__c"]) == []
    sandbox.state.schema["salesforce"].discard("Leadwire_Score__c")
    sandbox.state.salesforce_meta["Leadwire_Id__c"]["externalId"] = False
    problems = salesforce.schema_problems(["FirstName", "Leadwire_Score__c", "Leadwire_Id__c", "IsConverted"])
    assert len(problems) == 3
    assert problems[0].startswith("Lead.Leadwire_Score__c does not exist")
    assert "Leadwire_Id__c is not an External ID" in problems[1]
    assert "IsConverted is read-only" in problems[2]
    assert salesforce.setup_schema(["Leadwire_Score__c"]) == [
        "cannot create Lead fields through the REST API; by hand: " + problems[0]]


def test_privacy_deletion_removes_the_leads(salesforce, sandbox):
    ids = [r.record_id for r in salesforce.push([lead("1"), lead("2")])]
    salesforce.delete([*ids, "00Q000000000000999"])  # already gone counts as done
    assert sandbox.state.leads == {}


def test_the_integration_user_can_be_configured_without_userinfo(crm_env, sandbox):
    adapter = SalesforceAdapter.from_env({**crm_env, "SALESFORCE_INTEGRATION_USER_ID": "005000000000API"})
    assert adapter.integration_user() == "005000000000API"
    assert sandbox.calls("userinfo") == 0
    SalesforceAdapter.from_env(crm_env).integration_user()  # without it, the user is asked of userinfo
    assert sandbox.calls("userinfo") == 1


@pytest.mark.parametrize("stamp, literal", [("2026-01-05T09:00:00.123+0000", "2026-01-05T09:00:00Z"),
                                            ("2026-01-05T10:00:00+01:00", "2026-01-05T09:00:00Z")])
def test_soql_datetime_literals(stamp, literal):
    assert soql_datetime(stamp) == literal


def test_request_limit_exceeded_stops_every_process_sharing_the_limits(crm_env, sandbox, sleeps):
    now = [1_000_000.0]
    shared = MemoryLimits(lambda: now[0])
    one, two = (SalesforceAdapter.from_env(crm_env, limits=shared, now=lambda: now[0], retry=RetryPolicy(sleep=sleeps))
                for _ in range(2))
    sandbox.set_faults(salesforce_api_used=15000)  # the org's allocation is spent
    assert one.push([lead("1")])[0].status == "retry"
    calls = sandbox.calls("composite")
    sandbox.set_faults(salesforce_api_used=0)
    assert two.push([lead("2")])[0].status == "retry"  # the other process makes no call meanwhile
    assert sandbox.calls("composite") == calls
    now[0] += 301
    assert two.push([lead("2")])[0].ok
