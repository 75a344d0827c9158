"""The Salesforce sandbox as strict as the real API (per-record errors, SOQL literals, schema, limits, OAuth
logins and expiring sessions), and what the adapter makes of it on the real simple-salesforce."""
from __future__ import annotations

import re

import pytest
import requests
import responses
from defusedxml import ElementTree

from connector.core.errors import ConfigError, CrmAuthError
from connector.crm.base import Change, RetryPolicy
from connector.crm.limits import MemoryLimits
from connector.crm.salesforce import SalesforceAdapter, soql_datetime
from connector.demo.sandbox.sf_oauth import INTEGRATION_USERNAME
from connector.demo.sandbox.state import API_USER_ID
from connector.demo.sandbox.tls import make_signing_pair


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
    assert "FirstName: data value too large (max length=40)" in results["long"].message
    assert "xxxxx" not in results["long"].message  # the value itself is not kept
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


def test_schema_check_names_picklist_values_the_org_lacks_and_how_to_add_fields(salesforce, sandbox):
    wanted = {"Status": ["Working - Contacted", "Closed - Converted", "Meeting Set"]}
    (problem,) = salesforce.schema_problems(["Status"], values=wanted)
    assert "Lead.Status lacks the picklist value(s) 'Meeting Set'" in problem
    sandbox.state.picklists["Lead.Status"].add("Meeting Set")  # an admin adds the value
    assert salesforce.schema_problems(["Status"], values=wanted) == []
    sandbox.state.schema["salesforce"] -= {"Leadwire_Won_Amount__c", "Leadwire_Id__c"}
    steps = salesforce.setup_schema(["Leadwire_Won_Amount__c", "Leadwire_Id__c", "FirstName", "Nickname"])
    assert len(steps) == 3
    assert "New: Currency, length 16, 2 decimal places; Field Name Leadwire_Won_Amount;" in steps[0]
    assert "New: Text, length 64, External ID, Unique; Field Name Leadwire_Id;" in steps[1]
    assert "Nickname is not a Lead field and cannot be created" in steps[2]


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


# -- logins: JWT bearer, refresh token, expiring sessions, credentials checked at start ---------------------

CLIENT_ID = "3MVG9sandbox.leadwire"


@pytest.fixture(scope="module")
def keys():
    """(private key, certificate) for the connected app, and a second key the app does not know."""
    return make_signing_pair(), make_signing_pair()[0]


@pytest.fixture
def oauth_env(sandbox, clock):
    sandbox.state.clock = clock
    return {"SALESFORCE_LOGIN_URL": sandbox.tls_url, "SALESFORCE_CA_BUNDLE": sandbox.ca_file,
            "SALESFORCE_CLIENT_ID": CLIENT_ID}


def adapter(env, clock, sleeps):
    return SalesforceAdapter.from_env(env, retry=RetryPolicy(sleep=sleeps), now=lambda: clock.now().timestamp())


def jwt_env(oauth_env, sandbox, keys, key=None):
    (private, certificate), _ = keys
    sandbox.salesforce_connected_app(CLIENT_ID, certificate=certificate)
    return {**oauth_env, "SALESFORCE_USERNAME": INTEGRATION_USERNAME, "SALESFORCE_PRIVATE_KEY": key or private}


def test_jwt_bearer_logs_in_on_first_use_and_names_the_integration_user(oauth_env, sandbox, keys, clock, sleeps):
    sf = adapter(jwt_env(oauth_env, sandbox, keys), clock, sleeps)
    assert sandbox.calls("oauth2/token") == 0  # nothing is called at start
    assert sf.push([lead("1")])[0].ok
    assert sf.integration_user() == API_USER_ID  # from the token response's identity URL
    assert sandbox.calls("oauth2/token") == 1 and sandbox.calls("userinfo") == 0 and sandbox.calls("query") == 0
    (record,) = sandbox.state.leads.values()
    assert record["LastModifiedById"] == API_USER_ID


def test_an_expired_session_is_renewed_without_losing_a_write(oauth_env, sandbox, keys, clock, sleeps):
    sf = adapter(jwt_env(oauth_env, sandbox, keys), clock, sleeps)
    first = sf.push([lead("1")])[0]
    clock.advance(hours=3)  # idle past the org's 2-hour session timeout: the token answers 401 INVALID_SESSION_ID
    again = sf.push([Change("1", {"FirstName": "Later"}, record_id=first.record_id), lead("2")])
    assert [r.status for r in again] == ["ok", "ok"]
    assert sandbox.state.leads[first.record_id]["FirstName"] == "Later" and len(sandbox.state.leads) == 2
    assert sf.logins == 2 and sandbox.calls("oauth2/token") == 2
    assert sandbox.stats()["writes"][f"salesforce:{first.record_id}"] == 2  # the refused call wrote nothing


def test_an_active_session_is_kept(oauth_env, sandbox, keys, clock, sleeps):
    sf = adapter(jwt_env(oauth_env, sandbox, keys), clock, sleeps)
    for _ in range(3):  # used every 90 minutes: never idle for the 2-hour timeout
        assert sf.push([lead("1")])[0].ok
        clock.advance(minutes=90)
    assert sf.logins == 1


def test_an_assertion_signed_with_another_key_is_refused(oauth_env, sandbox, keys, clock, sleeps):
    sf = adapter(jwt_env(oauth_env, sandbox, keys, key=keys[1]), clock, sleeps)
    with pytest.raises(CrmAuthError, match="invalid_grant: invalid assertion"):
        sf.push([lead("1")])
    assert sandbox.state.leads == {}


def test_a_user_the_app_has_not_approved_is_refused(oauth_env, sandbox, keys, clock, sleeps):
    env = {**jwt_env(oauth_env, sandbox, keys), "SALESFORCE_USERNAME": "someone@example.com"}
    with pytest.raises(CrmAuthError, match="user hasn't approved this consumer"):
        adapter(env, clock, sleeps).push([lead("1")])


def test_the_refresh_token_flow(oauth_env, sandbox, clock, sleeps):
    refresh = sandbox.salesforce_connected_app(CLIENT_ID, client_secret="s3cret")
    env = {**oauth_env, "SALESFORCE_CLIENT_SECRET": "s3cret", "SALESFORCE_REFRESH_TOKEN": refresh}
    sf = adapter(env, clock, sleeps)
    assert sf.push([lead("1")])[0].ok
    clock.advance(hours=3)
    assert sf.push([lead("2")])[0].ok and sf.logins == 2
    wrong = adapter({**env, "SALESFORCE_CLIENT_SECRET": "guess"}, clock, sleeps)
    with pytest.raises(CrmAuthError, match="invalid_client"):
        wrong.push([lead("3")])
    assert "s3cret" not in str(sandbox.stats())


def test_a_bare_session_is_not_renewed(crm_env, sandbox, clock, sleeps):
    sandbox.set_faults(auth_fail=True)
    with pytest.raises(CrmAuthError, match="INVALID_SESSION_ID"):
        adapter(crm_env, clock, sleeps).push([lead("1")])
    assert sandbox.calls("oauth2/token") == 0


@pytest.mark.parametrize("env, names", [
    ({"SALESFORCE_CLIENT_ID": "x", "SALESFORCE_PRIVATE_KEY_FILE": "/nowhere.pem"},
     ["JWT bearer flow: set SALESFORCE_USERNAME", "refresh token flow: set SALESFORCE_CLIENT_SECRET, "
                                                  "SALESFORCE_REFRESH_TOKEN"]),
    ({"SALESFORCE_CLIENT_ID": "x", "SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY_FILE": "/nowhere.pem"},
     ["SALESFORCE_PRIVATE_KEY_FILE: cannot read /nowhere.pem"]),
    ({"SALESFORCE_CLIENT_ID": "x", "SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY": "not a key"},
     ["SALESFORCE_PRIVATE_KEY is not an unencrypted PEM private key"]),
    ({"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com"}, ["session (tests, short scripts): set "
                                                                    "SALESFORCE_ACCESS_TOKEN"]),
    ({}, ["SALESFORCE_INSTANCE_URL", "SALESFORCE_PRIVATE_KEY or SALESFORCE_PRIVATE_KEY_FILE",
          "SALESFORCE_REFRESH_TOKEN", "SALESFORCE_PASSWORD"]),
], ids=["jwt-without-username", "unreadable-key-file", "not-a-key", "session-without-token", "nothing"])
def test_missing_credentials_are_named_at_start(env, names):
    with pytest.raises(ConfigError) as err:
        SalesforceAdapter.from_env(env)
    for name in names:
        assert name in str(err.value)


def test_the_integration_user_is_found_by_username_once(crm_env, sandbox, clock, sleeps):
    sf = adapter({**crm_env, "SALESFORCE_USERNAME": INTEGRATION_USERNAME}, clock, sleeps)
    assert sf.integration_user() == API_USER_ID and sf.integration_user() == API_USER_ID
    assert sandbox.calls("query") == 1 and sandbox.calls("userinfo") == 0


def test_usage_at_the_limit_stops_the_other_processes_before_salesforce_refuses(crm_env, sandbox, sleeps):
    now = [1_000_000.0]
    shared = MemoryLimits(lambda: now[0])
    one, two = (SalesforceAdapter.from_env(crm_env, limits=shared, now=lambda: now[0], retry=RetryPolicy(sleep=sleeps))
                for _ in range(2))
    sandbox.set_faults(salesforce_api_used=14999, salesforce_api_limit=15000)
    assert one.push([lead("1")])[0].ok  # its answer says api-usage=15000/15000
    calls = sandbox.calls("salesforce")
    assert two.push([lead("2")])[0].status == "retry" and sandbox.calls("salesforce") == calls


def test_the_sandbox_sends_outbound_messages_on_other_objects(sandbox):
    body = sandbox.outbound_message_of("00D000000000001AAA", "Opportunity",
                                       [{"Id": "006000000000001AAA", "Name": "Big deal", "StageName": "Prospecting"}])
    (sobject,) = ElementTree.fromstring(body).iter("{http://soap.sforce.com/2005/09/outbound}sObject")
    assert sobject.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "sf:Opportunity"
    assert {child.tag.rsplit("}", 1)[-1]: child.text for child in sobject} == {
        "Id": "006000000000001AAA", "Name": "Big deal", "StageName": "Prospecting"}


@responses.activate
def test_username_and_password_remain_a_fallback_through_the_soap_login():
    """simple-salesforce's SOAP login (it only speaks to https://<domain>.salesforce.com, so pinned here)."""
    responses.post(re.compile(r"https://acme\.my\.salesforce\.com/services/Soap/u/.*"), status=200, body=(
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        'envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        "<serverUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D</serverUrl>"
        "<sessionId>00Dacme!session</sessionId><userId>005000000000ABC</userId></result></loginResponse>"
        "</soapenv:Body></soapenv:Envelope>"))
    responses.patch("https://acme.my.salesforce.com/services/data/v59.0/composite/sobjects/Lead/Leadwire_Id__c",
                    json=[{"id": "00Q000000000000042", "success": True, "errors": [], "created": True}])
    sf = SalesforceAdapter.from_env({"SALESFORCE_USERNAME": "leadwire@acme.example", "SALESFORCE_PASSWORD": "pw",
                                     "SALESFORCE_SECURITY_TOKEN": "tok", "SALESFORCE_DOMAIN": "acme.my"},
                                    retry=RetryPolicy(sleep=lambda s: None))
    assert len(responses.calls) == 0  # no login at start
    assert sf.push([lead("7")])[0].ok and sf.logins == 1
    assert "<n1:password>pwtok</n1:password>" in responses.calls[0].request.body
    assert responses.calls[1].request.headers["Authorization"] == "Bearer 00Dacme!session"
