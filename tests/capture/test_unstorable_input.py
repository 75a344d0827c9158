"""What the store cannot keep is refused with a 422 naming the field before any 2xx, on PostgreSQL (which
refuses NUL in text): a NUL lead is never answered 202 and then left `failed`."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connector.cli import cli
from connector.store.models import InboxItem, Lead, Rep
from connector.web import create_app
from tests.capture.test_form_hook import ADA, AUTH
from tests.support.forms import post_form, signed_headers
from tests.support.runtime import FORM_SECRET, deployment_env


@pytest.fixture
def pg_client(make_runtime, pg_url):
    rt = make_runtime(pg_url)
    return create_app(runtime=rt).test_client(), rt


def _count(rt, model) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_nul_in_a_json_field_is_a_422_naming_it_and_nothing_is_kept(pg_client):
    client, rt = pg_client
    resp = client.post("/api/leads", json={**ADA, "company": "Acme\u0000Corp"}, headers=AUTH)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json["errors"]] == ["company"] and "U+0000" in resp.json["errors"][0]["problem"]
    assert _count(rt, InboxItem) == 0


def test_a_nul_in_a_signed_form_post_is_a_422_whether_escaped_or_raw(pg_client):
    client, rt = pg_client
    for body in (b"first_name=Ada&email=ada%40acme.example&company=Ac%00me", b"first_name=Ada\x00&email=a@b.example"):
        resp = client.post("/hooks/forms/website", data=body, headers={
            **signed_headers(FORM_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == 422, resp.get_data(as_text=True)
        assert resp.json["errors"][0]["field"] in ("company", "first_name")
    assert _count(rt, InboxItem) == 0


def test_control_characters_are_refused_but_tabs_and_newlines_in_free_text_are_kept(pg_client):
    client, rt = pg_client
    bad = post_form(client, FORM_SECRET, {**ADA, "message": "hi\x07", "attributes": {"role\x1b": "cto"}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"message", "attributes.role\x1b"}
    good = post_form(client, FORM_SECRET, {**ADA, "message": "line one\r\n\tline two"})
    assert good.status_code == 202
    with rt.db.session() as s:
        lead = s.scalar(select(Lead))
        assert lead is not None and lead.email == "ada.lovelace@example.com"


def test_an_idempotency_key_with_a_control_character_is_refused(pg_client):
    client, _ = pg_client
    resp = client.post("/api/leads", json=ADA, headers={**AUTH, "Idempotency-Key": "evt\x01"})
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("source", [{"name": "api"}, ["api"], 7])
def test_a_source_that_is_not_text_is_a_422(pg_client, source):
    client, rt = pg_client
    resp = client.post("/api/leads", json={**ADA, "source": source}, headers=AUTH)
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "source"
    assert _count(rt, InboxItem) == 0


def test_deep_json_is_a_400_on_every_json_path(pg_client):
    client, _ = pg_client
    deep = ("[" * 5000 + "]" * 5000).encode()
    nested = ("{\"a\": " + "[" * 40 + "1" + "]" * 40 + "}").encode()  # parses, but 41 levels deep
    for body in (deep, nested):
        assert client.post("/api/leads", data=body, headers={**AUTH, "Content-Type": "application/json"}
                           ).status_code == 400
        assert post_form(client, FORM_SECRET, body).status_code == 400
        for path in ("/api/reps", "/api/leads/1/events", "/api/leads/1/reoffer"):
            resp = client.post(path, data=body, headers={**AUTH, "Content-Type": "application/json"})
            assert resp.status_code in (400, 404), (path, resp.status_code)


def test_a_body_over_the_cap_is_a_413_on_the_json_api_too(pg_client):
    client, _ = pg_client
    big = json.dumps([{"email": "x@y.example", "name": "x" * 300_000}]).encode()
    assert client.post("/api/reps", data=big, headers={**AUTH, "Content-Type": "application/json"}).status_code == 413


@pytest.mark.parametrize(("rep", "field"), [
    ({"email": "a@b.example", "timezone": ["UTC"]}, "timezone"),
    ({"email": "a@b.example", "name": {"first": "A"}}, "name"),
    ({"email": "a@b.example", "territory": "US"}, "territory"),
    ({"email": "a@b.example", "territory": {"location": [1, 2]}}, "territory.location"),
    ({"email": "a@b.example", "countries": [{"US": 1}]}, "countries"),
    ({"email": "a@b.example", "team": "t" * 65}, "team"),
    ({"email": "a@b.example", "salesforce_user_id": "0" * 19}, "salesforce_user_id"),
    ({"email": "a@b.example", "max_open_offers": [3]}, "max_open_offers"),
    ({"email": "a@b.example", "working_hours": 9}, "working_hours"),
    ({"email": "a@b.example", "absent": {"from": 20260101}}, "absent.from"),
    ({"email": ["a@b.example"]}, "email"),
    ({"email": "a@b.example", "partner": "P\x00"}, "body[0].partner"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_every_rep_field_of_the_wrong_type_is_a_422_naming_it(pg_client, rep, field):
    client, rt = pg_client
    resp = client.post("/api/reps", json=rep, headers=AUTH)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert field in {e["field"] for e in resp.json["errors"]}
    assert _count(rt, Rep) == 0


def test_a_csv_row_with_a_nul_is_rejected_and_reported_and_the_other_rows_import(pg_url, tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(b"First Name,Last Name,Email,Company,Country\n"
                     b"Ada,Lovelace,ada@acme.example,Acme Inc.,US\n"
                     b"Bob,Ce\x00rf,bob@wayne.example,Wayne,US\n")
    result = CliRunner().invoke(cli, ["import", str(path), "--source", "tradeshow"], env=deployment_env(pg_url))
    assert result.exit_code == 1
    assert f"{path}: row 3: Last Name: contains the control character U+0000" in result.stderr
    assert "2 rows: 1 captured, 0 already imported, 1 rejected" in result.stdout
