"""The HubSpot adapter on the real SDK against a sandbox as strict as HubSpot's documentation: whole-batch
failures, multi-status, rate-limit policies, expiring OAuth tokens, the property schema, the search cap,
GDPR deletion and merged contacts."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hubspot import Client
from hubspot.crm.contacts import exceptions as contact_exc

from connector.core.clock import FakeClock
from connector.core.errors import ConfigError
from connector.crm.base import Change, RetryPolicy
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.limits import MemoryLimits


def upserts(n: int, bad: dict[int, dict] | None = None) -> list[Change]:
    return [Change(f"k{i}", (bad or {}).get(i, {"firstname": f"P{i}"}), external_id=f"p{i}@example.com")
            for i in range(n)]


@pytest.fixture
def timed(sandbox, crm_env):
    """An adapter and the sandbox on one fake clock; its sleeps move the clock (and are recorded)."""
    clock = FakeClock()
    sandbox.state.clock = clock
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)

    def make(env: dict | None = None) -> HubSpotAdapter:
        now = lambda: clock.now().timestamp()  # noqa: E731
        return HubSpotAdapter.from_env({**crm_env, **(env or {})}, retry=RetryPolicy(sleep=sleep),
                                       limits=MemoryLimits(now), now=now)
    return make, clock, slept


# -- batch writes that survive bad records ------------------------------------------------------------
def test_one_bad_enum_value_among_100_parks_exactly_one_record(hubspot, sandbox):
    results = hubspot.push(upserts(100, {37: {"hs_lead_status": "MAYBE"}}))
    parked = [r for r in results if r.status == "parked"]
    assert [r.key for r in parked] == ["k37"] and "MAYBE was not one of the allowed options" in parked[0].message
    assert sum(r.ok for r in results) == 99 and len(sandbox.state.contacts) == 99
    assert sandbox.calls("batch/upsert") == 1


def test_without_trace_ids_hubspot_refuses_the_whole_batch(hubspot, sandbox):
    api = Client.create(access_token="pat-x", host=sandbox.base_url).crm.contacts.batch_api
    inputs = [{"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "A"}},
              {"id": "b@example.com", "idProperty": "email", "properties": {"no_such_property": "x"}}]
    with pytest.raises(contact_exc.ApiException) as refused:
        api.upsert(batch_input_simple_public_object_batch_input_upsert={"inputs": inputs})
    assert refused.value.status == 400 and "PROPERTY_DOESNT_EXIST" in str(refused.value.body)
    assert sandbox.state.contacts == {}
    sandbox.hubspot_edit(None, {"email": "a@example.com"})
    with pytest.raises(contact_exc.ApiException) as conflict:
        api.create(batch_input_simple_public_object_batch_input_for_create={"inputs": [
            {"properties": {"email": "new@example.com"}}, {"properties": {"email": "a@example.com"}}]})
    assert conflict.value.status == 409 and "CONFLICT" in str(conflict.value.body)
    assert len(sandbox.state.contacts) == 1


def test_a_batch_refused_as_a_whole_is_bisected_down_to_the_bad_record(hubspot, sandbox):
    sandbox.set_faults(hubspot_multi_status=False)
    results = hubspot.push(upserts(100, {5: {"leadwire_score": "high"}}))
    by_status = {r.key: r.status for r in results}
    assert by_status.pop("k5") == "parked" and set(by_status.values()) == {"ok"}
    assert "high was not a valid number" in next(r.message for r in results if r.key == "k5")
    assert len(sandbox.state.contacts) == 99
    assert sandbox.calls("batch/upsert") <= 1 + 2 * 7  # halves down to one record: about 2 log2(100) calls


def test_an_error_naming_no_input_parks_the_record_instead_of_retrying_forever(hubspot, sandbox):
    sandbox.set_faults(hubspot_unnamed_errors=True)
    results = hubspot.push(upserts(10, {3: {"hs_lead_status": "MAYBE"}}))
    assert {r.key: r.status for r in results}["k3"] == "parked"
    assert [r.key for r in results if r.status != "ok"] == ["k3"] and len(sandbox.state.contacts) == 9


def test_unknown_properties_and_over_long_strings_are_refused_like_hubspot(hubspot, sandbox):
    results = hubspot.push([Change("a", {"favourite_colour": "red"}, external_id="a@example.com"),
                            Change("b", {"company": "x" * 65537}, external_id="b@example.com"),
                            Change("c", {"company": "x" * 65536}, external_id="c@example.com")])
    status = {r.key: (r.status, r.message or "") for r in results}
    assert status["a"][0] == "parked" and "PROPERTY_DOESNT_EXIST" in status["a"][1]
    assert status["b"][0] == "parked" and "65536" in status["b"][1]
    assert status["c"][0] == "ok"


# -- rate limits ------------------------------------------------------------------------------------------
def test_a_429_storm_without_retry_after_never_calls_twice_in_one_window(timed, sandbox):
    make, clock, slept = timed
    adapter = make()
    sandbox.set_faults(rate_limit_storm=4)
    results = adapter.push(upserts(1))
    assert results[0].ok
    times = sandbox.stats()["hubspot_call_times"]
    assert sandbox.calls("batch/upsert") == 5 and slept == [10.0] * 4
    assert len(times) == 5 and all(later - earlier >= 10 for earlier, later in zip(times, times[1:], strict=False))


def test_the_rolling_window_is_enforced_and_its_headers_slow_the_adapter_down(timed, sandbox):
    make, clock, slept = timed
    adapter = make()
    sandbox.set_faults(hubspot_window_max=3)
    for i in range(5):
        assert adapter.push([Change(str(i), {"firstname": "A"}, external_id=f"a{i}@example.com")])[0].ok
    times = sandbox.stats()["hubspot_call_times"]
    assert all(sum(1 for t in times if start <= t < start + 10) <= 3 for start in times)
    assert sum(slept) >= 10


def test_a_daily_429_stops_every_call_until_midnight_in_the_account_time_zone(timed, sandbox):
    make, clock, _ = timed
    adapter = make({"HUBSPOT_TIME_ZONE": "UTC"})
    sandbox.set_faults(hubspot_daily_limit=1)
    assert adapter.push(upserts(1))[0].ok
    first = adapter.push([Change("x", {"firstname": "B"}, external_id="b@example.com")])[0]
    midnight = datetime(2026, 1, 6, tzinfo=UTC)
    assert first.status == "retry" and first.retry_after == pytest.approx((midnight - clock.now()).total_seconds())
    calls = sandbox.calls("hubspot")
    clock.advance(hours=10)
    again = adapter.push([Change("x", {"firstname": "B"}, external_id="b@example.com")])[0]
    assert again.status == "retry" and sandbox.calls("hubspot") == calls  # no call made before the reset
    clock.set(midnight + timedelta(seconds=1))
    assert adapter.push([Change("x", {"firstname": "B"}, external_id="b@example.com")])[0].ok


def test_searches_keep_to_their_own_lower_rate(timed, sandbox):
    make, clock, _ = timed
    adapter = make()
    for i in range(900):
        sandbox.hubspot_edit(None, {"email": f"s{i}@example.com"})
    changes, _ = adapter.changes_since(None)
    assert len(changes) == 900
    times = sandbox.stats()["hubspot_call_times"]
    assert len(times) == 9 and all(sum(1 for t in times if s <= t < s + 1) <= 4 for s in times)


# -- authentication ----------------------------------------------------------------------------------
def test_an_expired_oauth_token_is_renewed_without_losing_a_write(timed, sandbox, crm_env):
    make, clock, _ = timed
    refresh = sandbox.hubspot_oauth_app("app-1", "app-secret")
    env = {"HUBSPOT_ACCESS_TOKEN": "", "HUBSPOT_CLIENT_ID": "app-1", "HUBSPOT_CLIENT_SECRET": "app-secret",
           "HUBSPOT_REFRESH_TOKEN": refresh}
    adapter = make(env)
    assert adapter.push(upserts(1))[0].ok
    assert adapter.auth.renewals == 1 and sandbox.calls("oauth/v1/token") == 1
    clock.advance(minutes=25)  # inside the last five minutes: renewed before the call
    assert adapter.push([Change("k0", {"lastname": "Early"}, external_id="p0@example.com")])[0].ok
    assert adapter.auth.renewals == 2
    adapter.auth.expires_at = clock.now().timestamp() + 3600  # the adapter believes its token is good
    clock.advance(minutes=40)  # ... but HubSpot has expired it: 401 EXPIRED_AUTHENTICATION, renew, repeat
    result = adapter.push([Change("k0", {"lastname": "Late"}, external_id="p0@example.com")])[0]
    assert result.ok and adapter.auth.renewals == 3
    (contact,) = sandbox.state.contacts.values()
    assert contact["properties"]["lastname"] == "Late"


@pytest.mark.parametrize("env,names", [
    ({"HUBSPOT_CLIENT_ID": "app"}, ["HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN"]),
    ({"HUBSPOT_REFRESH_TOKEN": "r", "HUBSPOT_CLIENT_SECRET": "s"}, ["HUBSPOT_CLIENT_ID"]),
    ({}, ["HUBSPOT_ACCESS_TOKEN", "HUBSPOT_REFRESH_TOKEN"]),
    ({"HUBSPOT_ACCESS_TOKEN": "pat-1", "HUBSPOT_TIME_ZONE": "Mars/Olympus"}, ["HUBSPOT_TIME_ZONE"]),
], ids=["oauth-without-secret-and-refresh", "oauth-without-client-id", "nothing", "bad-time-zone"])
def test_missing_credentials_are_named_at_start(env, names):
    with pytest.raises(ConfigError) as err:
        HubSpotAdapter.from_env(env)
    assert all(n in str(err.value) for n in names)


# -- schema ----------------------------------------------------------------------------------------------
def test_setup_schema_creates_what_schema_problems_then_no_longer_reports(hubspot, sandbox):
    for name in ("leadwire_score", "leadwire_status"):
        del sandbox.state.hubspot_properties[name]
    sandbox.state.hubspot_groups.discard("leadwire")
    fields = ["email", "leadwire_score", "leadwire_status", "favourite_colour"]
    before = hubspot.schema_problems(fields)
    assert len(before) == 3 and "leadwire crm setup" in before[0] and "favourite_colour" in before[2]
    done = hubspot.setup_schema(fields)
    assert "created property group 'leadwire'" in done and any("leadwire_status" in d for d in done)
    assert any("cannot create contact property 'favourite_colour'" in d for d in done)
    after = hubspot.schema_problems(fields)
    assert len(after) == 1 and "favourite_colour" in after[0]
    assert sandbox.state.hubspot_properties["leadwire_score"]["type"] == "number"
    assert hubspot.push([Change("1", {"leadwire_status": "won"}, external_id="w@example.com")])[0].ok
    refused = hubspot.push([Change("2", {"leadwire_status": "sleeping"}, external_id="s@example.com")])[0]
    assert refused.status == "parked"


# -- reads: search cap, merges; privacy deletion -------------------------------------------------------
def test_changes_since_moves_its_watermark_past_the_search_cap(hubspot, sandbox):
    sandbox.set_faults(hubspot_search_cap=250)
    hubspot.search_cap = 250
    for i in range(620):
        sandbox.hubspot_edit(None, {"email": f"c{i}@example.com"})
    changes, cursor = hubspot.changes_since(None)
    assert len(changes) == 620 == len({c.record_id for c in changes})
    assert cursor == max(c.fields["lastmodifieddate"] for c in changes)
    assert sandbox.calls("search") > 620 // 100


def test_reading_a_merged_away_id_answers_the_merged_record(hubspot, sandbox):
    a = sandbox.hubspot_edit(None, {"email": "a@example.com", "firstname": "Ann"})["id"]
    b = sandbox.hubspot_edit(None, {"email": "b@example.com", "lastname": "Bee"})["id"]
    merged = sandbox.hubspot_merge(a, b)
    found = hubspot.read([a, b])
    assert found[a]["hs_object_id"] == found[b]["hs_object_id"] == merged["id"] not in (a, b)
    assert (found[a]["firstname"], found[a]["email"]) == ("Ann", "a@example.com")


def test_delete_erases_contacts_through_gdpr_delete(hubspot, sandbox):
    ids = [sandbox.hubspot_edit(None, {"email": f"d{i}@example.com"})["id"] for i in range(2)]
    hubspot.delete([ids[0], "999999"])  # an id HubSpot no longer knows is already gone
    assert set(sandbox.state.contacts) == {ids[1]} and sandbox.calls("gdpr-delete") == 2
