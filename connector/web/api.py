"""The REST API: capture a lead, inbox status, leads (filtered, paginated), one lead with its timeline
and offers, and behavioural events of a lead (each decides it again). Every view needs the API key (the
blueprint's before_request hook, web/auth.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import func, select

from connector.capture import inbox, lifecycle
from connector.core.errors import FieldError, InvalidLead
from connector.flows.model import Spec
from connector.store import timeline
from connector.store.models import Lead, Offer
from connector.web.auth import require_api_key
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError
from connector.web.hooks import accept, idempotency_header, parse_lead_body, read_body, receipt_response
from connector.web.security import check_storable

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(require_api_key)

MAX_PAGE = 200
MAX_EVENTS = 100  # events per POST /api/leads/<id>/events
CLOCK_SKEW = timedelta(minutes=5)  # an event time this far ahead of ours is taken as now's


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def lead_dict(lead: Lead) -> dict:
    """Every column of a lead, JSON-safe, plus speed-to-lead in seconds."""
    out = {c.name: _json(getattr(lead, c.name)) for c in Lead.__table__.columns}
    out["seconds_to_offer"] = _seconds(lead.captured_at, lead.first_offered_at)
    out["seconds_to_accept"] = _seconds(lead.captured_at, lead.accepted_at)
    return out


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, f"query parameter {name}={raw!r} must be a whole number from {low} to {high}")
    return int(raw)


@bp.post("/leads")
def create_lead() -> tuple[Response, int]:
    """A lead from a JSON object or form fields; the source is ?source=, the body's "source", or "api"."""
    rt = current_runtime()
    raw = read_body(rt)
    payload = parse_lead_body(raw)
    source = request.args.get("source") or payload.pop("source", None) or "api"
    if not isinstance(source, str):
        problem = f"must be the name of a source in flows.yaml, not a {type(source).__name__}"
        raise InvalidLead([FieldError("source", problem)])
    spec = rt.spec.sources.get(source)
    if spec is None:
        raise ApiError(404, f"no source named {source!r} in flows.yaml")
    key = inbox.idempotency_key(raw, idempotency_header())
    return receipt_response(accept(rt, source=source, channel="api", raw=raw, payload=payload,
                                   idempotency_key=key, content_type=request.mimetype))


@bp.get("/inbox/<id:inbox_id>")
def inbox_status(inbox_id: int) -> Response:
    rt = current_runtime()
    with rt.db.session() as s:
        found = inbox.inbox_summary(s, inbox_id)
    if not found:
        raise ApiError(404, f"no inbox item {inbox_id}")
    return jsonify(found)


@bp.get("/leads")
def list_leads() -> Response:
    rt = current_runtime()
    page = _int_arg("page", 1, 1, 10**6)
    per_page = _int_arg("per_page", 50, 1, MAX_PAGE)
    query = select(Lead)
    for arg, column in (("email", Lead.email), ("source", Lead.source), ("status", Lead.status),
                        ("flow", Lead.flow), ("campaign", Lead.campaign)):
        if request.args.get(arg):
            value = request.args[arg].strip()
            query = query.where(column == (value.lower() if arg == "email" else value))
    with rt.db.session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        leads = s.scalars(query.order_by(Lead.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
        items = [lead_dict(lead) for lead in leads]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


@bp.get("/leads/<id:lead_id>")
def get_lead(lead_id: int) -> Response:
    rt = current_runtime()
    with rt.db.session() as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            raise ApiError(404, f"no lead {lead_id}")
        body = lead_dict(lead)
        body["timeline"] = [{"at": e.at.isoformat(), "kind": e.kind, "message": e.message, "data": e.data}
                            for e in timeline.events(s, lead_id)]
        body["offers"] = [{"id": o.id, "rep_id": o.rep_id, "mode": o.mode, "status": o.status,
                           "offered_at": _json(o.offered_at), "expires_at": _json(o.expires_at),
                           "responded_at": _json(o.responded_at), "decline_reason": o.decline_reason}
                          for o in s.scalars(select(Offer).where(Offer.lead_id == lead_id).order_by(Offer.id))]
    return jsonify(body)


def _event_types(spec: Spec) -> list[str]:
    return sorted({rule.type for section in spec.scoring.sections for rule in section.events})


def _event_time(raw: Any, where: str, now: datetime) -> str:
    """An event's `at` as ISO UTC text (default now); a time without a zone is UTC."""
    if raw is None:
        return now.astimezone(UTC).isoformat()
    try:
        when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        when = None
    if when is None:
        raise ApiError(400, f"{where}.at must be an ISO 8601 time such as 2026-01-05T09:00:00Z, not {raw!r}",
                       field=f"{where}.at")
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when > now + CLOCK_SKEW:
        raise ApiError(400, f"{where}.at {raw!r} is in the future", field=f"{where}.at")
    return min(when, now).astimezone(UTC).isoformat()


def _events_from(body: Any, spec: Spec, now: datetime) -> list[dict[str, Any]]:
    """The request's events as stored: {type, at[, data]}; ApiError(400) naming the first bad field."""
    items = body if isinstance(body, list) else [body]
    if body is None or not items or not all(isinstance(item, dict) for item in items):
        raise ApiError(400, 'the body must be an event {"type": ..., "at": ..., "data": {...}} or a non-empty '
                            "list of them", field="body")
    if len(items) > MAX_EVENTS:
        raise ApiError(400, f"at most {MAX_EVENTS} events per request, not {len(items)}", field="body")
    known = _event_types(spec)
    events = []
    for i, item in enumerate(items):
        where = f"events[{i}]" if isinstance(body, list) else "event"
        unknown = sorted(set(item) - {"type", "at", "data"})
        if unknown:
            raise ApiError(400, f"{where}: unknown field {unknown[0]!r}; an event has type, at and data",
                           field=f"{where}.{unknown[0]}")
        kind = item.get("type")
        if not isinstance(kind, str) or kind.strip().lower() not in known:
            raise ApiError(400, f"{where}.type must be one of the scoring model's event types: {', '.join(known)}"
                           f"; not {kind!r}", field=f"{where}.type", known=known)
        event: dict[str, Any] = {"type": kind.strip().lower(), "at": _event_time(item.get("at"), where, now)}
        if "data" in item:
            if not isinstance(item["data"], dict):
                raise ApiError(400, f"{where}.data must be an object", field=f"{where}.data")
            event["data"] = item["data"]
        events.append(event)
    return events


@bp.post("/leads/<id:lead_id>/events")
def post_events(lead_id: int) -> tuple[Response, int]:
    """Behavioural events of a lead ({type, at, data} or a list): appended (the same type and time once)
    and the lead decided again; answers the transition (promoted, owner_told, demoted, rescored, unchanged)."""
    rt = current_runtime()
    now = rt.clock.now()
    with rt.db.session() as s:
        if s.get(Lead, lead_id) is None:
            raise ApiError(404, f"no lead {lead_id}")
        body = request.get_json(force=True, silent=True)
        check_storable(body)
        events = _events_from(body, rt.spec, now)
        result, added = lifecycle.add_events(s, rt, lead_id, events, now, by="api")
        lead = s.get(Lead, lead_id)
        body = {**result.as_dict(), "events_added": added,
                "rescore_at": _json(lead.rescore_at) if lead is not None else None}
    return jsonify(body), 200
