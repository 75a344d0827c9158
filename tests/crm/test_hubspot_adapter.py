"""The HubSpot adapter driving hubspot-api-client against the sandbox."""
from __future__ import annotations

import pytest

from connector.core.errors import CrmAuthError
from connector.crm.base import Change


def test_upsert_then_update_writes_each_contact_once_per_push(hubspot, sandbox):
    created = hubspot.push([Change("1", {"firstname": "Ada"}, external_id="ada@example.com"),
                            Change("2", {"firstname": "Bob"}, external_id="bob@example.com")])
    assert [r.status for r in created] == ["ok", "ok"]
    ada = created[0].record_id
    updated = hubspot.push([Change("1", {"lastname": "Lovelace"}, record_id=ada)])
    assert updated[0].ok and updated[0].record_id == ada
    assert sandbox.state.contacts[ada]["properties"]["lastname"] == "Lovelace"
    assert sandbox.calls("batch/upsert") == 1 and sandbox.calls("batch/update") == 1
    assert sandbox.stats()["writes"][f"hubspot:{ada}"] == 2


def test_partial_failure_207_parks_only_the_refused_contacts(hubspot, sandbox):
    results = hubspot.push([Change("good", {"firstname": "Ok"}, external_id="ok@example.com"),
                            Change("bad", {"hs_lead_status": "MAYBE"}, external_id="bad@example.com"),
                            Change("gone", {"firstname": "X"}, record_id="424242")])
    by_key = {r.key: r for r in results}
    assert by_key["good"].status == "ok"
    assert by_key["bad"].status == "parked" and "MAYBE was not one of the allowed options" in by_key["bad"].message
    assert by_key["gone"].status == "parked" and "OBJECT_NOT_FOUND" in by_key["gone"].message
    assert len(sandbox.state.contacts) == 1


def test_a_429_storm_waits_out_the_ten_second_window_each_time(hubspot, sandbox, sleeps):
    sandbox.set_faults(rate_limit_storm=3)
    results = hubspot.push([Change("1", {"firstname": "Ada"}, external_id="ada@example.com")])
    assert results[0].ok
    assert sleeps == [10.0, 10.0, 10.0]  # X-HubSpot-RateLimit-Interval-Milliseconds, no Retry-After
    assert sandbox.calls("batch/upsert") == 4
    assert len(sandbox.state.contacts) == 1


def test_a_storm_longer_than_the_retries_leaves_the_changes_to_retry_later(hubspot, sandbox, sleeps):
    sandbox.set_faults(rate_limit_storm=50)
    results = hubspot.push([Change("1", {"firstname": "Ada"}, external_id="ada@example.com")])
    assert results[0].status == "retry" and results[0].retry_after == 10.0
    assert "429" in results[0].message
    assert len(sleeps) == hubspot.retry.attempts - 1
    assert sandbox.state.contacts == {}


def test_server_errors_are_retried_with_backoff(hubspot, sandbox, sleeps):
    sandbox.set_faults(outage=True)
    results = hubspot.push([Change("1", {"firstname": "A"}, external_id="a@example.com")])
    assert results[0].status == "retry" and "503" in results[0].message
    assert sleeps == [0.5, 1.0, 2.0, 4.0]


def test_a_rejected_token_raises_an_auth_error(hubspot, sandbox):
    sandbox.set_faults(auth_fail=True)
    with pytest.raises(CrmAuthError, match="401"):
        hubspot.owners()


def test_batch_read_takes_one_call_per_hundred_ids(hubspot, sandbox):
    ids = [sandbox.hubspot_edit(None, {"email": f"p{i}@example.com"})["id"] for i in range(150)]
    found = hubspot.read(ids + ["999999"])
    assert len(found) == 150 and found[ids[0]]["email"] == "p0@example.com"
    assert sandbox.calls("batch/read") == 2


def test_the_sandbox_refuses_more_than_100_inputs_like_hubspot(hubspot, sandbox):
    from connector.core.errors import CrmRejectedError

    body = {"inputs": [{"id": str(i)} for i in range(101)], "properties": ["email"]}
    with pytest.raises(CrmRejectedError, match="400 VALIDATION_ERROR"):
        hubspot._call("batch read", lambda: hubspot.client.crm.contacts.batch_api.read(
            batch_read_input_simple_public_object_id=body))
    with pytest.raises(ValueError, match="at most 100"):
        hubspot.push([Change(str(i), {}, external_id=f"{i}@x.io") for i in range(101)])


def test_changes_since_pages_through_search_oldest_first(hubspot, sandbox):
    for i in range(120):
        sandbox.hubspot_edit(None, {"email": f"p{i}@example.com"})
    changes, cursor = hubspot.changes_since(None)
    assert len(changes) == 120 and sandbox.calls("search") == 2
    assert changes[0].fields["email"] == "p0@example.com" and cursor == changes[-1].fields["lastmodifieddate"]
    edited = sandbox.hubspot_edit(changes[5].record_id, {"firstname": "Late"})
    later, _ = hubspot.changes_since(cursor)
    assert [c.record_id for c in later][-1] == edited["id"]


def test_owners_are_listed_with_their_emails(hubspot, sandbox):
    sandbox.state.add_owner("rep@example.com", "Rita", "Rep")
    assert [(o.email) for o in hubspot.owners()] == ["rep@example.com"]
