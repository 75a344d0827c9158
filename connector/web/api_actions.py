"""RevOps' manual actions over the API: POST /api/leads/<id>/assign, /reoffer, /reroute and /reopen.

Each takes a JSON object (optional for reoffer and reroute) whose "by" names who acts (default "api"),
and answers 200 with what was done. An unknown lead or rep is a 404, a missing or wrong field a 400, and
a lead whose state forbids the action a 409 whose message says what to do instead. Every view needs the
API key (the blueprint's before_request hook, web/auth.py).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from connector.capture import actions
from connector.core import bounds
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError
from connector.web.security import check_storable

bp = Blueprint("api_actions", __name__, url_prefix="/api/leads")
bp.before_request(require_api_key)

MAX_BY = actions.MAX_BY


def _body() -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); a 400 for anything else."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object, e.g. {\"by\": \"jane@revops\"}")
    check_storable(body)
    return body


def _text(body: dict[str, Any], name: str, *, default: str | None = None) -> str | None:
    value = body.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_BY:
        raise ApiError(400, f"{name} must be text of 1 to {MAX_BY} characters", field=name)
    return value.strip()


def _by(body: dict[str, Any]) -> str:
    return _text(body, "by", default="api") or "api"


def _done(done: actions.Done) -> Response:
    return jsonify(done.as_dict())


@bp.post("/<id:lead_id>/assign")
def assign(lead_id: int) -> Response:
    """{"rep_id": 7} or {"rep_email": "ann@example.com"}, and "by": make the rep the lead's owner."""
    rt = current_runtime()
    body = _body()
    by = _by(body)
    rep_id, email = body.get("rep_id"), _text(body, "rep_email")
    if rep_id is None and email is None:
        raise ApiError(400, "say which rep: give rep_id (a number) or rep_email", field="rep_id")
    if rep_id is not None and (isinstance(rep_id, bool) or not isinstance(rep_id, int)):
        raise ApiError(400, f"rep_id must be a whole number, not {rep_id!r}", field="rep_id")
    if rep_id is not None and not bounds.id_in_range(rep_id):
        raise ApiError(404, f"no rep {rep_id}", field="rep_id")
    with rt.db.session() as s:
        if rep_id is None:
            rep_id = actions.rep_by_email(s, email or "").id
        done = actions.assign(s, rt, lead_id, rep_id, by=by, now=rt.clock.now())
    return _done(done)


@bp.post("/<id:lead_id>/reoffer")
def reoffer(lead_id: int) -> Response:
    """Start the lead's stored offer plan again with fresh offers."""
    rt = current_runtime()
    by = _by(_body())
    with rt.db.session() as s:
        done = actions.reoffer(s, rt, lead_id, by=by, now=rt.clock.now())
    return _done(done)


@bp.post("/<id:lead_id>/reroute")
def reroute(lead_id: int) -> Response:
    """Decide the lead again under the current flows and offer it as a new lead would be."""
    rt = current_runtime()
    by = _by(_body())
    with rt.db.session() as s:
        done = actions.reroute(s, rt, lead_id, by=by, now=rt.clock.now())
    return _done(done)


@bp.post("/<id:lead_id>/reopen")
def reopen(lead_id: int) -> Response:
    """{"to": "nurture" | "routing", "stream": optional nurture stream}: a won/lost/closed lead reopened."""
    rt = current_runtime()
    body = _body()
    by = _by(body)
    to = body.get("to")
    if to not in actions.REOPEN_TO:
        raise ApiError(400, f"to must be one of {', '.join(actions.REOPEN_TO)}" + (f", not {to!r}" if to else ""),
                       field="to")
    stream = _text(body, "stream")
    with rt.db.session() as s:
        done = actions.reopen(s, rt, lead_id, to=to, stream=stream, by=by, now=rt.clock.now())
    return _done(done)
