"""Nothing a client sends produces a 5xx: ids beyond the database's integer range are 404s, signed tokens of
the wrong shape are refused, and a seeded fuzz over every route (on PostgreSQL) answers no 5xx."""
from __future__ import annotations

import json
import random
from urllib.parse import quote

import pytest
from itsdangerous import URLSafeSerializer

from connector.web import create_app
from tests.support.dashboard import post_login
from tests.support.forms import signed_headers
from tests.support.runtime import API_KEY, FORM_SECRET

AUTH = {"Authorization": f"Bearer {API_KEY}"}
SECRET_KEY = "test-secret-key-0123456789abcdef"  # tests/support/runtime.deployment_env's
BIG = "1000000000000"


@pytest.fixture
def pg_app(make_runtime, pg_url):
    return create_app(runtime=make_runtime(pg_url, LEADWIRE_ADMIN_PASSWORD="open-sesame-0123"))


@pytest.mark.parametrize("method,path", [
    ("GET", f"/api/inbox/{BIG}"), ("GET", f"/api/leads/{BIG}"), ("GET", f"/api/accounts/{BIG}"),
    ("POST", f"/api/leads/{BIG}/events"), ("POST", f"/api/leads/{BIG}/reoffer"),
    ("GET", "/api/leads/" + "9" * 5000), ("GET", "/api/leads/0"),
])
def test_ids_beyond_the_integer_range_are_404(pg_app, method, path):
    resp = pg_app.test_client().open(path, method=method, headers=AUTH, json={"type": "visit"})
    assert resp.status_code == 404


def test_a_dashboard_lead_beyond_the_range_is_a_404_page(pg_app):
    client = pg_app.test_client()
    assert post_login(client, "open-sesame-0123").status_code == 302
    resp = client.get(f"/dashboard/leads/{BIG}")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assign = client.get("/dashboard/leads/1")
    assert assign.status_code == 404


@pytest.mark.parametrize("content", [
    ["offer", 10**12, 4102444800, ""], ["offer", {"id": 1}, 4102444800, ""], ["offer", 1, "never", ""],
    ["offer", 1, 4102444800, ["n"]], {"a": 1, "b": 2, "c": 3, "d": 4}, "offer", [True, 1, 2, 3],
    ["feedback", 10**12, 4102444800, "1:1"], ["feedback", 1.5, 4102444800, "1:1"],
], ids=repr)
def test_signed_tokens_of_the_wrong_shape_are_refused_not_500(pg_app, content):
    token = URLSafeSerializer(SECRET_KEY, salt="leadwire-link").dumps(content)
    client = pg_app.test_client()
    for method, path in (("GET", f"/o/{token}"), ("POST", f"/o/{token}/accept"), ("POST", f"/o/{token}/decline"),
                         ("GET", f"/f/{token}"), ("POST", f"/f/{token}"), ("GET", f"/f/{token}/quick/contacted")):
        resp = client.open(path, method=method)
        assert resp.status_code in (400, 403, 404, 410), (path, resp.status_code)


def _routes(app) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule))
    return out


NASTY = ["\x00", "%00", "\u0000abc", "\ud800", "9" * 30, "-1", "0", "²", "'; drop table leads;--", "../../etc",
         "\x1b[31m", "a" * 3000, "{}", "[]", "null", "１２"]


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 5)
    if kind == 0:
        return rng.choice(NASTY)
    if kind == 1:
        return rng.choice([10**12, -1, 0, 2**70, 1.5e308, True, None])
    if kind == 2:
        return "".join(chr(rng.randrange(0, 0x300)) for _ in range(rng.randrange(1, 12)))
    if kind in (3, 4):
        return rng.choice(["ada@acme.example", "Ada", "US", "visit", "nurture", "2026-01-05T09:00:00Z"])
    if kind in (5, 6):
        return {rng.choice(["email", "name", "source", "type", "at", "data", "rep_id", "to", "by", "team",
                            "timezone", "territory", "\x00k", "contact", "company"]): _value(rng, depth + 1)
                for _ in range(rng.randrange(1, 5))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]


def _path(rng: random.Random, rule: str) -> str:
    parts = []
    for part in rule.split("/"):
        if part.startswith("<"):
            part = rng.choice(["1", BIG, "abc", "%00", "x%01y", "9" * 25, "website", "captured", "assign"])
        parts.append(part)
    return "/".join(parts)


def test_a_seeded_fuzz_of_every_route_answers_no_5xx(pg_app):
    rng = random.Random(14)
    client = pg_app.test_client()
    assert post_login(client, "open-sesame-0123").status_code == 302  # the dashboard's routes too
    routes = _routes(pg_app)
    assert len(routes) > 25
    statuses: dict[int, int] = {}
    for i in range(400):
        method, rule = routes[i % len(routes)]
        path = _path(rng, rule)
        query = "&".join(f"{rng.choice(['source', 'page', 'from', 'q', 'email', 'rep'])}="
                         + quote(rng.choice(NASTY[:8]).encode("utf-8", "surrogatepass"), safe="%")
                         for _ in range(rng.randrange(0, 3)))
        url = f"{path}?{query}" if query else path
        headers = dict(AUTH)
        kind = rng.randrange(4)
        if kind == 0:
            body = json.dumps(_value(rng)).encode()
            headers["Content-Type"] = "application/json"
        elif kind == 1:
            body = "&".join(f"{k}={v}" for k, v in (("email", rng.choice(NASTY)), ("rep_id", rng.choice(NASTY)),
                                                      ("csrf_token", "x"))).encode("utf-8", "surrogatepass")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif kind == 2:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            headers["Content-Type"] = rng.choice(["application/json", "application/x-www-form-urlencoded"])
        else:
            body = ("[" * rng.randrange(30, 3000)).encode()
            headers["Content-Type"] = "application/json"
        if path.startswith("/hooks/forms/"):
            headers.update(signed_headers(FORM_SECRET, body, **{"Content-Type": headers["Content-Type"]}))
        if rng.random() < 0.2:
            headers["Idempotency-Key"] = rng.choice(["k1", "k\x01", "x" * 300])
        resp = client.open(url, method=method, data=body if method != "GET" else None, headers=headers)
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        disabled = resp.status_code == 503 and "disabled" in resp.get_data(as_text=True)  # switched off by config
        assert resp.status_code < 500 or disabled, (method, url, body[:200], resp.get_data(as_text=True)[:300])
    assert sum(statuses.values()) == 400 and any(s < 300 for s in statuses) and any(s >= 400 for s in statuses)
