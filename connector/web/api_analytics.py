"""JSON analytics API: GET /api/analytics (the list) and /api/analytics/<measure> under URL filters.
Every view needs the API key (the blueprint's before_request hook, web/auth.py)."""
from __future__ import annotations

import inspect

from flask import Blueprint, Response, jsonify, request

from connector.analytics import MEASURES, Filters, InvalidFilter, run
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError

bp = Blueprint("api_analytics", __name__, url_prefix="/api/analytics")
bp.before_request(require_api_key)


@bp.get("")
def index() -> Response:
    """The measures: name, what it counts (first docstring line), and its URL."""
    return jsonify({"measures": [{"name": name, "description": (inspect.getdoc(fn) or "").partition("\n")[0],
                                  "url": f"/api/analytics/{name}"} for name, fn in MEASURES.items()],
                    "filters": ["from", "to", "source", "campaign", "flow", "team", "partner", "rep"]})


@bp.get("/<measure>")
def measure(measure: str) -> Response:
    """One measure as {measure, title, filters, columns, rows, summary, note}; 400 names bad filters."""
    if measure not in MEASURES:
        raise ApiError(404, f"no measure named {measure!r}", known=list(MEASURES))
    try:
        filters = Filters.from_args(request.args)
    except InvalidFilter as exc:
        raise ApiError(400, "invalid filters", errors=[e.as_dict() for e in exc.errors]) from exc
    return jsonify(run(current_runtime().db, measure, filters).as_json(filters.as_dict()))
