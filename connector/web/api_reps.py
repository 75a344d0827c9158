"""/api/reps (list, create or update) and /api/queue/unassigned (escalated leads nobody took).
Every view needs the API key (the blueprint's before_request hook, web/auth.py)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from connector.core.errors import ConfigError
from connector.routing import reps as reps_uc
from connector.store.models import Lead
from connector.store.statuses import LeadStatus
from connector.web.api import lead_dict
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError

bp = Blueprint("api_reps", __name__, url_prefix="/api")
bp.before_request(require_api_key)


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
