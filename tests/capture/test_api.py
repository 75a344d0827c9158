"""The REST API: bearer key, lead listing with filters and paging, one lead with its timeline."""
from __future__ import annotations

from tests.capture.test_form_hook import ADA, AUTH
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET

API_ADA = {"contact": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical-engines.com",
                       "phone": "+1 415 555 0134"},
           "company": {"name": "Analytical Engines Inc", "country": "US"}}


def test_api_leads_requires_the_bearer_key(client):
    assert client.post("/api/leads", json=ADA).status_code == 401
    assert client.post("/api/leads", json=ADA, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/leads").status_code == 401


def test_api_lead_is_captured_like_a_form_lead(client):
    resp = client.post("/api/leads", json=API_ADA, headers=AUTH)
    assert resp.status_code == 202
    inbox = client.get(f"/api/inbox/{resp.json['id']}", headers=AUTH).json
    assert inbox["status"] == "processed" and inbox["lead_id"]
    lead = client.get(f"/api/leads/{inbox['lead_id']}", headers=AUTH).json
    assert (lead["source"], lead["email"], lead["phone"]) == ("api", "ada@analytical-engines.com", "+14155550134")


def test_api_names_an_unknown_source(client):
    resp = client.post("/api/leads?source=fax", json=API_ADA, headers=AUTH)
    assert resp.status_code == 404 and "fax" in resp.json["error"]


def test_api_rejects_invalid_lead_with_field_errors(client):
    resp = client.post("/api/leads", json={"contact": {"email": "ada@"}}, headers=AUTH)
    assert resp.status_code == 422
    assert "email" in {e["field"] for e in resp.json["errors"]}


def test_leads_are_listed_filtered_and_paged(client):
    people = [("Alan", "Turing", "alan@bletchley.example.org", "+44 20 7946 0018", "Bletchley Park", "GB"),
              ("Edsger", "Dijkstra", "ewd@mathematisch.example.nl", "+31 20 555 0147", "Mathematisch Centrum", "NL"),
              ("Barbara", "Liskov", "liskov@csail.example.edu", "+1 617 555 0199", "CSAIL", "US")]
    for first, last, email, phone, company, country in people:
        lead = {"first_name": first, "last_name": last, "email": email, "phone": phone,
                "company": company, "country": country}
        assert post_form(client, FORM_SECRET, lead).status_code == 202
    page1 = client.get("/api/leads?per_page=2", headers=AUTH).json
    page2 = client.get("/api/leads?per_page=2&page=2", headers=AUTH).json
    assert page1["total"] == 3 and len(page1["items"]) == 2 and len(page2["items"]) == 1
    assert {i["email"] for i in page1["items"] + page2["items"]} == {p[2] for p in people}
    found = client.get("/api/leads?email=EWD@mathematisch.example.nl", headers=AUTH).json
    assert [i["last_name"] for i in found["items"]] == ["Dijkstra"]
    assert client.get("/api/leads?source=website", headers=AUTH).json["total"] == 3
    assert client.get("/api/leads?per_page=0", headers=AUTH).status_code == 400


def test_unknown_lead_and_inbox_item_are_404(client):
    assert client.get("/api/leads/999", headers=AUTH).status_code == 404
    assert client.get("/api/inbox/999", headers=AUTH).status_code == 404


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"
    post_form(client, FORM_SECRET, ADA)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'leadwire_inbox_items{status="processed"} 1.0' in metrics
