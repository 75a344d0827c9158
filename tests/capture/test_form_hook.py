"""Signed web-form capture: accepted, refused with the right status, never lost, never doubled."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from connector.store.models import InboxItem, Lead
from tests.support.forms import post_form, signed_headers
from tests.support.runtime import API_KEY, FORM_SECRET

ADA = {"first_name": "  ada ", "last_name": "LOVELACE", "email": " Ada.Lovelace@Example.COM ",
       "phone": "(415) 555-0134", "company": "Analytical Engines Inc", "country": "United States",
       "website": "https://www.analytical-engines.com/about", "message": "Please call me"}
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def count(runtime, model) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_signed_form_post_is_accepted_and_becomes_a_clean_lead(client, runtime):
    resp = post_form(client, FORM_SECRET, ADA)
    assert resp.status_code == 202
    assert resp.json["status"] == "accepted"
    inbox = client.get(f"/api/inbox/{resp.json['id']}", headers=AUTH).json
    assert inbox["status"] == "processed"
    lead = client.get(f"/api/leads/{inbox['lead_id']}", headers=AUTH).json
    assert lead["email"] == "ada.lovelace@example.com"
    assert lead["phone"] == "+14155550134"
    assert (lead["first_name"], lead["last_name"]) == ("Ada", "Lovelace")
    assert lead["company_domain"] == "analytical-engines.com"
    assert lead["country"] == "US"
    assert [e["kind"] for e in lead["timeline"]][:2] == ["captured", "decision"]


def test_form_encoded_body_is_accepted(client):
    body = "first_name=Grace&last_name=Hopper&email=grace%40navy.example.org&phone=%2B1+202+555+0175" \
           "&company=US+Navy&country=US"
    headers = signed_headers(FORM_SECRET, body.encode(), **{"Content-Type": "application/x-www-form-urlencoded"})
    resp = client.post("/hooks/forms/website", data=body, headers=headers)
    assert resp.status_code == 202, resp.json


def test_same_payload_three_times_makes_one_lead(client, runtime):
    ids = {post_form(client, FORM_SECRET, ADA).json["id"] for _ in range(3)}
    assert len(ids) == 1
    assert count(runtime, InboxItem) == 1
    assert count(runtime, Lead) == 1


def test_idempotency_key_header_wins_over_body_hash(client, runtime):
    first = post_form(client, FORM_SECRET, ADA, **{"Idempotency-Key": "evt-1"})
    again = post_form(client, FORM_SECRET, {**ADA, "message": "resent with a new timestamp"},
                      **{"Idempotency-Key": "evt-1"})
    assert again.status_code == 202 and again.json["id"] == first.json["id"] and again.json["replayed"]
    assert count(runtime, Lead) == 1


@pytest.mark.parametrize("body, problem", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "JSON object"),
    (b"\xff\xfe\x00", "not valid JSON"),
], ids=["broken-json", "json-array", "binary"])
def test_malformed_body_is_400_and_says_why(client, body, problem):
    resp = post_form(client, FORM_SECRET, body)
    assert resp.status_code == 400
    assert problem in resp.json["error"]


def test_unknown_source_is_404(client):
    resp = post_form(client, FORM_SECRET, ADA, source="no-such-form")
    assert resp.status_code == 404
    assert "no-such-form" in resp.json["error"]


@pytest.mark.parametrize("headers, problem", [
    ({}, "missing"),
    ({"X-Leadwire-Signature": "v1=abc"}, "malformed"),
    ({"X-Leadwire-Signature": f"t={int(time.time())},v1={'0' * 64}"}, "does not match"),
], ids=["missing", "malformed", "wrong-mac"])
def test_bad_signature_is_401_and_nothing_is_stored(client, runtime, headers, problem):
    resp = client.post("/hooks/forms/website", data=json.dumps(ADA), headers={"Content-Type": "application/json", **headers})
    assert resp.status_code == 401
    assert problem in resp.json["error"]
    assert count(runtime, InboxItem) == 0


def test_signature_with_another_secret_is_401(client, runtime):
    resp = post_form(client, "someone-elses-secret", ADA)
    assert resp.status_code == 401
    assert count(runtime, InboxItem) == 0


def test_stale_signature_is_401(client, runtime):
    resp = post_form(client, FORM_SECRET, ADA, at=time.time() - 301)
    assert resp.status_code == 401
    assert "stale" in resp.json["error"]
    assert post_form(client, FORM_SECRET, ADA, at=time.time() - 290).status_code == 202


def test_body_over_the_cap_is_413(client, runtime):
    big = {**ADA, "message": "x" * (256 * 1024)}
    resp = post_form(client, FORM_SECRET, big)
    assert resp.status_code == 413
    assert "limit" in resp.json["error"]
    assert count(runtime, InboxItem) == 0


def test_missing_and_invalid_fields_are_422_naming_each_and_kept_in_the_inbox(client, runtime):
    bad = {"first_name": "Ada", "email": "not-an-email", "phone": "12", "company": ""}
    resp = post_form(client, FORM_SECRET, bad)
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json["errors"]}
    assert {"email", "phone", "company"} <= fields
    assert all(e["problem"] for e in resp.json["errors"])
    inbox = client.get(f"/api/inbox/{resp.json['id']}", headers=AUTH).json
    assert inbox["status"] == "rejected"
    assert {e["field"] for e in inbox["errors"]} == fields
    assert count(runtime, Lead) == 0
    # redelivering the same bad payload answers the same way without storing it twice
    again = post_form(client, FORM_SECRET, bad)
    assert again.status_code == 422 and again.json["id"] == resp.json["id"]
    assert count(runtime, InboxItem) == 1
