"""The sandbox's Flask app: vendor routes, fault injection, rate-limit headers and the /_sandbox admin API."""
from __future__ import annotations

import time
import uuid

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue

from connector.demo.sandbox import hubspot_api, salesforce_api, sf_oauth
from connector.demo.sandbox.state import SandboxState

HUBSPOT_WINDOW_MAX = 190  # X-HubSpot-RateLimit-Max for a private app, per 10 s


def _vendor() -> str | None:
    if request.path.startswith("/crm/"):
        return "hubspot"
    if request.path == "/services/oauth2/token":  # the login itself: no session, not an API request
        return None
    if request.path.startswith("/services/"):
        return "salesforce"
    return None


def _refuse(vendor: str, status: int, kind: str, message: str) -> tuple[Response, int]:
    if vendor == "hubspot":
        category = {"auth": "INVALID_AUTHENTICATION", "limit": "RATE_LIMITS"}.get(kind, "INTERNAL_ERROR")
        extra = {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"} if kind == "limit" else {}
        return hubspot_api.hs_error(status, message, category, **extra)
    code = {"auth": "INVALID_SESSION_ID", "limit": "REQUEST_LIMIT_EXCEEDED", "outage": "SERVER_UNAVAILABLE"}
    return salesforce_api.sf_error(status, code.get(kind, "UNKNOWN_EXCEPTION"), message)


def create_app(state: SandboxState) -> Flask:
    """The sandbox app over `state` (HubSpot under /crm, Salesforce under /services, admin under /_sandbox)."""
    app = Flask("leadwire-sandbox")
    hubspot_api.register(app, state)
    salesforce_api.register(app, state)
    sf_oauth.register(app, state)

    @app.before_request
    def faults() -> ResponseReturnValue | None:
        vendor = _vendor()
        g.vendor = vendor
        if vendor is None:
            return None
        f = state.faults
        with state.lock:
            state.calls[f"{vendor} {request.method} {request.url_rule.rule if request.url_rule else request.path}"] += 1
            if f.outage_after is not None:
                f.outage_after -= 1
                if f.outage_after < 0:
                    f.outage, f.outage_after = True, None
            limited = f.rate_limit_storm > 0
            if limited:
                f.rate_limit_storm -= 1
            if vendor == "hubspot" and f.hubspot_budget is not None:
                limited = limited or f.hubspot_budget <= 0
                f.hubspot_budget = max(0, f.hubspot_budget - 1)
            if vendor == "salesforce":
                limited = limited or f.salesforce_api_used >= f.salesforce_api_limit
                f.salesforce_api_used += 1
            failing = f.error_rate > 0 and state.rng.random() < f.error_rate
            policy = hubspot_api.take_call(state) if vendor == "hubspot" else None
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000)
        auth = request.headers.get("Authorization", "")
        if f.auth_fail or not auth.startswith(("Bearer ", "OAuth ")) or len(auth.split(" ", 1)[1]) < 2:
            return _refuse(vendor, 401, "auth", "Session expired or invalid" if vendor == "salesforce" else
                           "Authentication credentials not found. This API supports OAuth 2.0 authentication.")
        if vendor == "hubspot" and (expired := hubspot_api.token_problem(state, auth)):
            return expired
        if vendor == "salesforce" and sf_oauth.session_expired(state, auth.split(" ", 1)[1]):
            return _refuse(vendor, 401, "auth", "Session expired or invalid")
        if f.outage:
            return _refuse(vendor, 503, "outage", "Service Unavailable: the server is temporarily down")
        if policy:
            return hubspot_api.rate_limited(policy)
        if limited:
            if vendor == "hubspot":
                return _refuse(vendor, 429, "limit", "You have reached your ten_secondly_rolling limit.")
            return _refuse(vendor, 403, "limit", "TotalRequests Limit exceeded.")
        if failing:
            return _refuse(vendor, 500, "error", "An unexpected error occurred. Please include this ErrorId if you "
                           f"contact support: {uuid.uuid4().hex[:8]} (-1234567)")
        return None

    @app.after_request
    def limit_headers(response: Response) -> Response:
        f = state.faults
        if g.get("vendor") == "salesforce":
            response.headers["Sforce-Limit-Info"] = f"api-usage={f.salesforce_api_used}/{f.salesforce_api_limit}"
        elif g.get("vendor") == "hubspot":
            # no Retry-After on a 429: HubSpot documents none (https://developers.hubspot.com/docs/api/usage-details)
            response.headers.update(hubspot_api.limit_headers(state))
        return response

    @app.route("/_sandbox/faults", methods=["GET", "POST"])
    def admin_faults() -> ResponseReturnValue:
        if request.method == "POST":
            try:
                with state.lock:
                    state.faults.update(request.get_json(force=True) or {})
            except ValueError as exc:
                return jsonify({"error": str(exc)}), 400
        return jsonify(state.faults.as_dict())

    @app.post("/_sandbox/reset")
    def admin_reset() -> ResponseReturnValue:
        state.reset()
        return jsonify({"ok": True})

    @app.get("/_sandbox/stats")
    def admin_stats() -> ResponseReturnValue:
        return jsonify(state.stats())

    return app
