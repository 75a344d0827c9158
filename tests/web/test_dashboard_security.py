"""The dashboard and pages against an attacker: login lockout per client and per account (clock-driven)
with an audit line, logout ends the session on the server, SameSite / Secure cookies, CSRF tokens on
every dashboard form, cross-site posts refused, and security headers on every HTML page."""
from __future__ import annotations

import logging

import pytest

from connector.web import create_app
from connector.web.login_guard import ACCOUNT_FAILURES, CLIENT_FAILURES, LOCKOUT
from tests.support.dashboard import csrf_token, logout, post_login
from tests.support.runtime import API_KEY

PASSWORD = "open-sesame-0123"


@pytest.fixture
def app(make_runtime, sqlite_url):
    return create_app(runtime=make_runtime(sqlite_url, LEADWIRE_ADMIN_PASSWORD=PASSWORD))


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_five_failures_lock_the_client_out_for_15_minutes_even_with_the_right_password(app, clock, caplog):
    client = app.test_client()
    caplog.set_level(logging.INFO, logger="connector.web.audit")
    for _ in range(CLIENT_FAILURES - 1):
        assert post_login(client, "guess", **_from("10.0.0.1")).status_code == 401
    locked = post_login(client, "guess", **_from("10.0.0.1"))
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == LOCKOUT
    right = post_login(client, PASSWORD, **_from("10.0.0.1"))
    assert right.status_code == 429 and "Too many failed logins" in right.get_data(as_text=True)
    assert post_login(app.test_client(), PASSWORD, **_from("10.0.0.2")).status_code == 302  # another client
    clock.advance(seconds=LOCKOUT + 1)
    assert post_login(client, PASSWORD, **_from("10.0.0.1")).status_code == 302
    audit = [r.getMessage() for r in caplog.records if r.name == "connector.web.audit"]
    assert sum("login failed" in line for line in audit) == CLIENT_FAILURES
    assert any("locked out" in line for line in audit) and any("dashboard login:" in line for line in audit)
    assert not any(s in line for line in audit for s in ("guess", PASSWORD, "10.0.0.1"))


def test_failures_from_many_addresses_lock_the_account(app, clock):
    for i in range(ACCOUNT_FAILURES):
        post_login(app.test_client(), "guess", **_from(f"10.1.{i}.1"))
    assert post_login(app.test_client(), PASSWORD, **_from("10.9.9.9")).status_code == 429
    clock.advance(seconds=LOCKOUT + 1)
    assert post_login(app.test_client(), PASSWORD, **_from("10.9.9.9")).status_code == 302


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_no_longer_works(app):
    client = app.test_client()
    assert post_login(client, PASSWORD).status_code == 302
    stolen = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/dashboard").status_code == 200
    assert logout(client).status_code == 302
    assert thief.get("/dashboard").status_code == 302 and client.get("/dashboard").status_code == 302


def test_the_api_key_does_not_log_in(app):
    assert post_login(app.test_client(), API_KEY).status_code == 401


def test_the_session_cookie_is_httponly_and_samesite_lax_and_secure_over_https(make_runtime, sqlite_url):
    plain = create_app(runtime=make_runtime(sqlite_url, LEADWIRE_ADMIN_PASSWORD=PASSWORD))
    client = plain.test_client()
    cookie = post_login(client, PASSWORD).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    tls = create_app(runtime=make_runtime(sqlite_url, LEADWIRE_ADMIN_PASSWORD=PASSWORD,
                                          LEADWIRE_PUBLIC_URL="https://leads.example.com"))
    cookie = post_login(tls.test_client(), PASSWORD).headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie
    behind_tls = post_login(plain.test_client(), PASSWORD, base_url="https://localhost")  # TLS at this server
    assert "Secure" in behind_tls.headers["Set-Cookie"]


def test_every_dashboard_form_needs_its_csrf_token(app):
    client = app.test_client()
    client.get("/dashboard/login")
    forged = client.post("/dashboard/login", data={"password": PASSWORD})
    assert forged.status_code == 400 and client.get("/dashboard").status_code == 302
    assert post_login(client, PASSWORD).status_code == 302
    assert client.post("/dashboard/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/dashboard").status_code == 200  # still logged in
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('name="csrf_token"') == page.count('method="post"')
    other = app.test_client()
    post_login(other, PASSWORD)
    assert other.post("/dashboard/logout", data={"csrf_token": csrf_token(page)}).status_code == 400  # not its own


def test_a_page_form_posted_from_another_site_is_refused(app):
    client = app.test_client()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert client.post("/o/anything/accept", headers=headers).status_code == 403
        assert client.post("/f/anything", headers=headers).status_code == 403
    assert client.post("/o/anything/accept", headers={"Origin": "http://localhost"}).status_code == 400


@pytest.mark.parametrize("path", ["/dashboard/login", "/dashboard", "/o/not-a-token", "/f/not-a-token",
                                  "/dashboard/leads/999"])
def test_every_html_page_carries_the_security_headers(app, path):
    client = app.test_client()
    post_login(client, PASSWORD)
    resp = client.get(path)
    assert resp.mimetype == "text/html", (path, resp.status_code)
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in resp.headers
    assert "Strict-Transport-Security" in client.get(path, base_url="https://localhost").headers


def test_hsts_is_sent_when_the_public_url_is_https(make_runtime, sqlite_url):
    app = create_app(runtime=make_runtime(sqlite_url, LEADWIRE_PUBLIC_URL="https://leads.example.com"))
    resp = app.test_client().get("/api/leads", headers={"Authorization": f"Bearer {API_KEY}"})
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert resp.headers["Cache-Control"] == "no-store"
