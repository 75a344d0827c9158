"""GET /api/analytics/<measure>: Bearer API key, the same filters, JSON on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from connector.analytics import MEASURES
from tests.analytics.seed import seed
from tests.support.runtime import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def api(analytics_app, db_url):
    app, rt = analytics_app(db_url)
    return app.test_client(), seed(rt.db)


def test_api_needs_the_api_key(api):
    client, _ = api
    assert client.get("/api/analytics/captured").status_code == 401
    assert client.get("/api/analytics/captured", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_api_lists_every_measure(api):
    client, _ = api
    body = client.get("/api/analytics", headers=AUTH).get_json()
    assert [m["name"] for m in body["measures"]] == list(MEASURES)
    assert all(m["description"] for m in body["measures"])


def test_api_measure_with_rep_filter(api):
    client, ids = api
    body = client.get(f"/api/analytics/offer_rates?rep={ids['ana']}", headers=AUTH).get_json()
    # offers to Ana: o2 o3 accepted, o4 o6 expired -> 4 settled, acceptance 2/4
    assert body["summary"]["acceptance_rate"] == 0.5 and body["summary"]["expiry_rate"] == 0.5
    assert body["filters"]["rep"] == ids["ana"]
    speed = client.get(f"/api/analytics/speed_to_lead?rep={ids['ana']}", headers=AUTH).get_json()
    # Ana owns L1 (2 min to offer) and L2 (4 min): median 3 min, p90 2 + 0.9*2 = 3.8 min
    first = speed["rows"][0]
    assert (first["leads"], first["median_seconds"], first["p90_seconds"]) == (2, pytest.approx(180, abs=0.5),
                                                                                pytest.approx(228, abs=0.5))


def test_api_bad_filters_are_named(api):
    client, _ = api
    resp = client.get("/api/analytics/captured?from=2026-02-01&to=2026-01-01&rep=ana", headers=AUTH)
    assert resp.status_code == 400
    fields = {e["field"] for e in resp.get_json()["errors"]}
    assert fields == {"to", "rep"}


def test_api_unknown_measure_is_404(api):
    client, _ = api
    assert client.get("/api/analytics/nope", headers=AUTH).status_code == 404
