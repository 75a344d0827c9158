"""/api/reps (list, create or update) and /api/queue/unassigned (escalated leads nobody took).
Every view needs the API key (the blueprint's before_request hook, web/auth.py)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from connector.core.errors import ConfigError
from connector.routing import reps as reps_uc
from connector.store.models import Lead, Rep
from connector.store.statuses import LeadStatus
from connector.web.api import lead_dict
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError
from connector.web.security import check_storable

bp = Blueprint("api_reps", __name__, url_prefix="/api")
bp.before_request(require_api_key)


TEXT = ("email", "name", *reps_uc.TEXT_FIELDS[1:])
NUMBERS = ("latitude", "longitude", "radius_km", "weight", "max_open_offers", "max_open_leads")
OBJECTS = ("territory", "capacity", "absent", "location")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shape(record: dict[str, Any], where: str = "") -> list[tuple[str, str]]:
    """(field, problem) for each value of a rep object of the wrong JSON type or too long for its column;
    the values themselves are then checked by reps.import_records."""
    found: list[tuple[str, str]] = []
    for key, value in record.items():
        name = f"{where}{key}"
        if value is None:
            continue
        if key in OBJECTS:
            if not isinstance(value, dict):
                found.append((name, "must be an object"))
            else:
                found += _shape(value, f"{name}.")
        elif key in TEXT:
            limit = getattr(Rep.__table__.columns[key].type, "length", None)
            if not isinstance(value, str):
                found.append((name, "must be text"))
            elif limit and len(value.strip()) > limit:
                found.append((name, f"must be at most {limit} characters, not {len(value.strip())}"))
        elif key in NUMBERS or key in ("lat", "lon"):
            if not (_is_number(value) or isinstance(value, str)):
                found.append((name, "must be a number"))
        elif key in reps_uc.LIST_FIELDS:
            if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(x, str) for x in value))):
                found.append((name, "must be a list of text (or text separated by ;)"))
        elif key in ("preferred", "active"):
            if not isinstance(value, (bool, str, int)):
                found.append((name, "must be true or false"))
        elif key in ("working_hours",):
            if not isinstance(value, (str, dict)):
                found.append((name, 'must be text like "mon-fri 09:00-17:00" or an object of days'))
        elif key in ("absent_from", "absent_until", "from", "until"):
            if not isinstance(value, str):
                found.append((name, "must be an ISO date-time such as 2026-01-05T09:00:00Z"))
    return found


@bp.get("/reps")
def list_reps() -> Response:
    rt = current_runtime()
    with rt.db.session() as s:
        items = [reps_uc.rep_dict(r) for r in reps_uc.list_reps(s, team=request.args.get("team"))]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/reps")
def upsert_reps() -> tuple[Response, int]:
    """Body: one rep object or a list of them; all are validated before any is stored."""
    rt = current_runtime()
    body = request.get_json(silent=True)
    records = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
    if records is None:
        raise ApiError(400, "body must be a JSON object (one rep) or a list of them")
    if not all(isinstance(x, dict) for x in records):
        raise ApiError(400, "each rep in the list must be a JSON object")
    check_storable(records, "body")
    shape = [{"index": i, "field": f, "problem": f"{f}: {p}"} for i, r in enumerate(records) for f, p in _shape(r)]
    if shape:
        raise ApiError(422, "invalid reps", errors=shape)
    try:
        done = reps_uc.import_records(rt, list(enumerate(records)), where="body")
    except ConfigError as exc:
        raise ApiError(422, "invalid reps", errors=[{"index": p.line, "problem": p.message}
                                                    for p in exc.problems]) from None
    emails = {str(x.get("email", "")).strip().lower() for x in records}
    with rt.db.session() as s:
        items = [reps_uc.rep_dict(r) for r in reps_uc.list_reps(s) if r.email in emails]
    return jsonify({**done, "items": items}), 201 if done["created"] else 200


@bp.get("/queue/unassigned")
def unassigned() -> Response:
    """Leads that every candidate refused or nobody could take, oldest first."""
    rt = current_runtime()
    with rt.db.session() as s:
        leads = s.scalars(select(Lead).where(Lead.status == LeadStatus.ESCALATED, Lead.owner_rep_id.is_(None))
                          .order_by(Lead.captured_at).limit(500)).all()
        items = [{**lead_dict(lead), "queue": (lead.offer_plan or {}).get("queue")} for lead in leads]
    return jsonify({"items": items, "total": len(items)})
