"""Every /api route of the app refuses a request without the API key, so a new view cannot forget it:
the guard is each API blueprint's before_request hook (connector/web/auth.py), not a line in each view."""
from __future__ import annotations

import pytest

from connector.web import create_app
from connector.web.auth import require_api_key
from tests.support.runtime import API_KEY

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _api_requests(app):
    """(method, url) for every method of every /api rule, path arguments filled with 1."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api" or rule.rule.startswith("/api/"):
            url = adapter.build(rule.endpoint, {name: 1 for name in rule.arguments})
            found += [(method, url) for method in sorted((rule.methods or set()) - SKIPPED_METHODS)]
    return found


def test_the_api_routes_are_found(app):
    urls = {url for _, url in _api_requests(app)}
    assert {"/api/leads", "/api/leads/1", "/api/inbox/1", "/api/reps", "/api/queue/unassigned",
            "/api/analytics", "/api/analytics/1", "/api/leads/1/assign", "/api/leads/1/reopen"} <= urls


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": API_KEY},
                                     {"Authorization": f"Basic {API_KEY}"}], ids=["none", "wrong", "no-scheme",
                                                                                  "basic"])
def test_every_api_route_refuses_a_request_without_the_key(client, app, headers):
    requests = _api_requests(app)
    assert len(requests) >= 8
    for method, url in requests:
        resp = client.open(url, method=method, headers=headers, json={})
        assert resp.status_code == 401, (method, url, resp.status_code)
        assert resp.get_json() == {"error": "missing or wrong API key (Authorization: Bearer <LEADWIRE_API_KEY>)"}


def test_every_api_route_is_closed_when_no_key_is_configured(make_runtime, sqlite_url):
    app = create_app(runtime=make_runtime(sqlite_url, LEADWIRE_API_KEY=""))
    client = app.test_client()
    for method, url in _api_requests(app):
        resp = client.open(url, method=method, headers={"Authorization": "Bearer "}, json={})
        assert resp.status_code == 503, (method, url, resp.status_code)
        assert resp.get_json() == {"error": "the API is disabled: set LEADWIRE_API_KEY"}


def test_each_blueprint_with_api_routes_has_the_guard_as_its_before_request_hook(app):
    owners = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules() if rule.rule.startswith("/api")}
    assert owners == {"api", "api_reps", "api_analytics", "api_actions", "api_accounts", "api_people"}
    for name in owners:
        assert require_api_key in app.before_request_funcs.get(name, []), name


def test_the_right_key_passes_the_guard(client):
    resp = client.get("/api/leads", headers={"Authorization": f"Bearer {API_KEY}"})
    assert resp.status_code == 200 and resp.get_json()["total"] == 0
