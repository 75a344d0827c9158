"""The account API: GET /api/accounts/<id>, one company's owner, owner_until, leads and account history
(connector.routing.account_view). Every view needs the API key (the blueprint's before_request hook)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from connector.routing.account_view import account_view, as_json
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError

bp = Blueprint("api_accounts", __name__, url_prefix="/api/accounts")
bp.before_request(require_api_key)


@bp.get("/<id:account_id>")
def get_account(account_id: int) -> Response:
    """The account as JSON (times in ISO 8601 UTC); 404 for an unknown id."""
    rt = current_runtime()
    with rt.db.session() as s:
        view = account_view(s, account_id, rt.clock.now())
    if view is None:
        raise ApiError(404, f"no account {account_id}")
    return jsonify(as_json(view))
