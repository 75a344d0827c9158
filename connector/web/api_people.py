"""/api/people/<email>: what Leadwire holds about a person (GET, as JSON) and their erasure (DELETE),
with the CRM records deleted by a queued job. Every view needs the API key (web/auth.py)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from connector.store.privacy import person_hash
from connector.sync import erasure
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError

bp = Blueprint("api_people", __name__, url_prefix="/api")
bp.before_request(require_api_key)


def _checked(email: str) -> str:
    try:
        person_hash(email)
    except ValueError:
        raise ApiError(400, "the path must end in the person's e-mail address, like "
                            "/api/people/ada@example.com") from None
    return email


@bp.get("/people/<path:email>")
def export_person(email: str) -> Response:
    """Everything held about the person: leads, raw payloads, timeline, e-mails, CRM writes, feedback."""
    response = jsonify(erasure.export(current_runtime(), _checked(email), by="api"))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/people/<path:email>")
def erase_person(email: str) -> Response:
    """Erase the person everywhere; answers the rows changed per table and the CRM records queued for deletion."""
    return jsonify({"erased": erasure.erase(current_runtime(), _checked(email), by="api")})
