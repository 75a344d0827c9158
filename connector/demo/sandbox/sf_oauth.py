"""Salesforce's OAuth token endpoint in the sandbox: the JWT bearer and refresh token grants of connected apps,
and access tokens that expire, as sessions do, after the org's session timeout of inactivity (sandbox clock).

- POST /services/oauth2/token, form-encoded; answers {access_token, instance_url, id, token_type, issued_at,
  signature, scope} or 400 {error, error_description}
  (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm,
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm).
- `id` is the identity URL https://<login host>/id/<org id>/<user id>: it names the user the token acts as.
- An access token lives as long as a session: "Access tokens have a limited lifetime specified by the session
  timeout in Salesforce. If an application uses an expired access token, a 'Session expired or invalid' error
  is returned" (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_refresh_token_oauth.htm);
  the timeout counts from the last activity (Setup > Session Settings > Timeout Value,
  https://help.salesforce.com/s/articleView?id=sf.admin_sessions.htm).
Tokens this endpoint did not issue (a test's fixed SALESFORCE_ACCESS_TOKEN) stand for sessions opened elsewhere
and do not expire here.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import jwt
from cryptography import x509
from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from connector.demo.sandbox.state import API_USER_ID, SandboxState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ORG_ID = "00D000000000001AAA"
INTEGRATION_USERNAME = "integration@leadwire.sandbox"
# the JWT's aud is the authorization server: login.salesforce.com, test.salesforce.com (or an Experience Cloud
# site URL); the sandbox also accepts its own URL, which stands for the login server here
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


def add_app(state: SandboxState, client_id: str, *, certificate: str | None = None,
            client_secret: str | None = None) -> str:
    """A connected app with the integration user pre-authorized: its certificate verifies JWT bearer
    assertions, its secret the refresh token grant. Returns a refresh token issued to the integration user."""
    refresh = f"5Aep{secrets.token_urlsafe(24)}"
    with state.lock:
        state.salesforce_apps[client_id] = {"certificate": certificate, "secret": client_secret}
        state.salesforce_refresh_tokens[refresh] = client_id
    return refresh


def integration_user_row() -> dict:
    """The integration user as SOQL on User sees it (the API's writes are made by it)."""
    return {"Id": API_USER_ID, "Username": INTEGRATION_USERNAME, "Email": INTEGRATION_USERNAME,
            "Name": "Leadwire Integration", "IsActive": True}


def session_expired(state: SandboxState, token: str) -> bool:
    """True when `token` was issued here and has been idle longer than the session timeout; else it is
    touched (activity extends the session)."""
    with state.lock:
        last = state.salesforce_sessions.get(token)
        if last is None:
            return False
        now = state.instant()
        if now - last > state.faults.salesforce_session_seconds:
            del state.salesforce_sessions[token]
            return True
        state.salesforce_sessions[token] = now
        return False


def _refused(error: str, description: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": error, "error_description": description}), status


def _jwt_user(state: SandboxState, assertion: str, own_url: str) -> str | tuple[Response, int]:
    """The user id a JWT bearer assertion may act as, or the refusal Salesforce gives."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _refused("invalid_grant", "invalid assertion")
    app = state.salesforce_apps.get(str(claims.get("iss", "")))
    if app is None or not app.get("certificate"):
        return _refused("invalid_client_id", "client identifier invalid")
    public_key = x509.load_pem_x509_certificate(app["certificate"].encode()).public_key()
    try:  # RS256 over header.claims with the app's certificate; exp and aud are checked below on the sandbox clock
        jwt.decode(assertion, public_key, algorithms=["RS256"],  # type: ignore[arg-type]
                   options={"verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return _refused("invalid_grant", "invalid assertion")
    if str(claims.get("aud", "")).rstrip("/") not in (*AUDIENCES, own_url.rstrip("/")):
        return _refused("invalid_grant", "audience is invalid")
    try:
        expires = float(claims.get("exp", ""))  # seconds since the epoch, a number or a numeric string
    except (TypeError, ValueError):
        return _refused("invalid_grant", "invalid assertion")
    if expires <= state.instant():
        return _refused("invalid_grant", "expired authorization code")
    if claims.get("sub") != INTEGRATION_USERNAME:  # only the integration user's profile is pre-authorized
        return _refused("invalid_grant", "user hasn't approved this consumer")
    return API_USER_ID


def _refresh_user(state: SandboxState, form: dict) -> str | tuple[Response, int]:
    app = state.salesforce_apps.get(form.get("client_id", ""))
    if app is None:
        return _refused("invalid_client_id", "client identifier invalid")
    if not app.get("secret") or not hmac.compare_digest(app["secret"], form.get("client_secret", "")):
        return _refused("invalid_client", "invalid client credentials")
    if state.salesforce_refresh_tokens.get(form.get("refresh_token", "")) != form["client_id"]:
        return _refused("invalid_grant", "expired access/refresh token")
    return API_USER_ID


def register(app: Flask, state: SandboxState) -> None:
    """Add the token endpoint to the sandbox app (no Authorization header: the grant is the credential)."""

    @app.post("/services/oauth2/token")
    def sf_token() -> ResponseReturnValue:
        form = request.form.to_dict()
        own_url = request.host_url.rstrip("/")
        with state.lock:
            state.calls[f"salesforce POST {request.path} {form.get('grant_type', '')}"] += 1
            if form.get("grant_type") == JWT_GRANT:
                user = _jwt_user(state, form.get("assertion", ""), own_url)
            elif form.get("grant_type") == "refresh_token":
                user = _refresh_user(state, form)
            else:
                return _refused("unsupported_grant_type", "grant type not supported")
            if not isinstance(user, str):
                return user
            token = f"{ORG_ID}!{secrets.token_urlsafe(32)}"
            issued = state.instant()
            state.salesforce_sessions[token] = issued
        identity = f"{own_url}/id/{ORG_ID}/{user}"
        signature = base64.b64encode(hmac.new(token.encode(), f"{identity}{int(issued * 1000)}".encode(),
                                              hashlib.sha256).digest()).decode()
        return jsonify({"access_token": token, "instance_url": own_url, "id": identity, "token_type": "Bearer",
                        "issued_at": str(int(issued * 1000)), "signature": signature, "scope": "api"}), 200
