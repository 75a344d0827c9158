"""POST /api/leads/<id>/events: behavioural events from the API decide the lead again; bad input is a clear 400."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.lifecycle_touch import entries, example_reps, lead_of, offers_of, submit
from tests.support.runtime import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def post(client, lead_id, body, **headers):
    return client.post(f"/api/leads/{lead_id}/events", json=body, headers={**AUTH, **headers})


def test_an_event_is_appended_and_the_lead_rescored(client, runtime, clock):
    lead_id = submit(runtime, "newsletter", role="analyst", employees="30", industry="education")
    resp = post(client, lead_id, {"type": "whitepaper_downloaded", "data": {"title": "Risk analytics 101"}})
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["transition"] == "rescored" and body["message"] == "rescored: score 12 → 19 after whitepaper_downloaded"
    assert body["before"]["score"] == 12
    assert body["after"] == {"status": "nurture", "score": 19, "mql_level": None, "flow": "unqualified"}
    at = clock.now().isoformat()
    assert body["events_added"] == [{"type": "whitepaper_downloaded", "at": at, "data": {"title": "Risk analytics 101"}}]
    assert body["rescore_at"] == (clock.now() + timedelta(days=30) / 4).isoformat()
    assert lead_of(runtime, lead_id).attributes["events"] == body["events_added"]
    [event] = entries(runtime, lead_id, "event")
    assert event.message == "1 event(s) recorded: whitepaper_downloaded"


def test_a_list_of_events_can_promote_the_lead(client, runtime, clock):
    example_reps(runtime)
    lead_id = submit(runtime, "newsletter")
    at = (clock.now() - timedelta(hours=1)).isoformat()
    resp = post(client, lead_id, [{"type": "webinar_attended", "at": at}, {"type": "pricing_viewed"}])
    assert resp.status_code == 200
    assert resp.json["transition"] == "promoted" and resp.json["after"]["status"] == "offered"
    assert len(offers_of(runtime, lead_id)) == 1
    again = post(client, lead_id, {"type": "webinar_attended", "at": at})  # the same event sent twice
    assert again.status_code == 200 and again.json["events_added"] == []
    assert again.json["transition"] == "unchanged"
    assert [e["type"] for e in lead_of(runtime, lead_id).attributes["events"]] == ["webinar_attended", "pricing_viewed"]


def test_a_negative_event_demotes_without_un_routing(client, runtime):
    example_reps(runtime)
    lead_id = submit(runtime, "demo_request")
    resp = post(client, lead_id, {"type": "unsubscribed"})
    assert resp.json["transition"] == "demoted"
    assert resp.json["message"] == "demoted: MQL 2 → 1 (unsubscribed); still offered (the engine now says nurture)"
    assert lead_of(runtime, lead_id).status == "offered"


def test_an_unknown_lead_is_a_404(client):
    resp = post(client, 999, {"type": "webinar_attended"})
    assert resp.status_code == 404 and resp.json["error"] == "no lead 999"


def test_an_event_type_the_scoring_model_does_not_know_is_a_400_listing_the_known_ones(client, runtime):
    lead_id = submit(runtime, "newsletter")
    resp = post(client, lead_id, {"type": "webinar_atended"})
    assert resp.status_code == 400 and resp.json["field"] == "event.type"
    assert resp.json["known"] == ["demo_attended", "email_opened", "pricing_viewed", "unsubscribed",
                                  "webinar_attended", "whitepaper_downloaded"]
    assert "webinar_attended" in resp.json["error"] and "'webinar_atended'" in resp.json["error"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"type": "pricing_viewed", "at": "yesterday"}, "event.at", "ISO 8601"),
    ({"type": "pricing_viewed", "at": 1767600000}, "event.at", "ISO 8601"),
    ({"type": "pricing_viewed", "at": "2030-01-01T00:00:00Z"}, "event.at", "in the future"),
    ([{"type": "pricing_viewed"}, {"type": "pricing_viewed", "at": "13/01/2026"}], "events[1].at", "ISO 8601"),
    ({"type": "pricing_viewed", "data": "a note"}, "event.data", "must be an object"),
    ({"type": "pricing_viewed", "when": "now"}, "event.when", "unknown field"),
    ({}, "event.type", "must be one of"),
    ([], "body", "non-empty list"),
    ("pricing_viewed", "body", "must be an event"),
    ([{"type": "pricing_viewed"}] * 101, "body", "at most 100"),
])
def test_bad_input_is_a_400_naming_the_field(client, runtime, body, field, words):
    lead_id = submit(runtime, "newsletter")
    resp = post(client, lead_id, body)
    assert resp.status_code == 400 and resp.json["field"] == field, resp.json
    assert words in resp.json["error"]
    assert "events" not in lead_of(runtime, lead_id).attributes  # nothing stored


def test_the_events_api_needs_the_api_key(client, runtime):
    lead_id = submit(runtime, "newsletter")
    assert client.post(f"/api/leads/{lead_id}/events", json={"type": "pricing_viewed"}).status_code == 401


def test_get_lead_returns_the_lifecycle_columns(client, runtime, clock):
    lead_id = submit(runtime, "newsletter", events=[{"type": "pricing_viewed"}])
    body = client.get(f"/api/leads/{lead_id}", headers=AUTH).json
    assert body["decided_with"] == runtime.spec.hash and len(body["decided_with"]) == 12
    assert body["rescore_at"] == (clock.now() + timedelta(days=7) / 4).isoformat()
    assert body["hold_until"] is None and body["linked_to_id"] is None
