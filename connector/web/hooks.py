"""Capture endpoints: signed web forms (the REST API's POST /api/leads is in web/api.py). Each answers
only after the inbox commit; the body helpers here are shared with the API and the CRM webhooks."""
from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from connector.capture import inbox
from connector.core import bounds, signing
from connector.core.errors import FieldError, InvalidLead
from connector.core.runtime import Runtime
from connector.store.models import InboxItem
from connector.store.statuses import InboxStatus
from connector.web.context import current_runtime
from connector.web.error_handlers import DATABASE_DOWN, ApiError

bp = Blueprint("hooks", __name__)
log = logging.getLogger(__name__)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def read_body(rt: Runtime) -> bytes:
    """The raw body, refused with 413 past the configured cap (checked before reading it all)."""
    cap = rt.settings.max_body_bytes
    if request.content_length is not None and request.content_length > cap:
        raise ApiError(413, f"body is {request.content_length} bytes; the limit is {cap}")
    raw = request.stream.read(cap + 1)
    if len(raw) > cap:
        raise ApiError(413, f"body is over the limit of {cap} bytes")
    return raw


def parse_lead_body(raw: bytes) -> dict:
    """JSON object (at most bounds.MAX_DEPTH deep) or form-encoded fields; anything else is a 400 that says
    what was expected. A field the store cannot keep (a NUL or other control character) is a 422 naming it."""
    try:
        if request.mimetype not in FORM_TYPES:
            bounds.load_json(raw)  # depth first: the inbox's parser would recurse without a bound
        payload = inbox.parse_body(raw, request.mimetype)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    bounds.check_text(payload)
    return payload


def idempotency_header() -> str | None:
    """The request's Idempotency-Key header (None without one); a key the store cannot keep is a 422."""
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        problem = bounds.bad_character(key, free_text=False)
        if problem:
            raise InvalidLead([FieldError("Idempotency-Key", problem)])
    return key


def accept(rt: Runtime, **kwargs: Any) -> inbox.Receipt:
    """inbox.accept; when the row was committed and only the wake-up (the job queue) failed, its receipt
    all the same: the tick's retake_stalled step queues the row within inbox.STALL_GRACE."""
    try:
        return inbox.accept(rt, **kwargs)
    except DATABASE_DOWN:
        raise
    except Exception as exc:
        with rt.db.session() as s:
            row = s.execute(select(InboxItem.id, InboxItem.status, InboxItem.errors).where(
                InboxItem.source == kwargs["source"], InboxItem.idempotency_key == kwargs["idempotency_key"])).first()
        if row is None:
            raise
        log.warning("inbox %s: committed, but queueing it failed (%s); the tick will pick it up",
                    row.id, type(exc).__name__)
        return inbox.Receipt(row.id, row.status, row.errors or [])


def receipt_response(receipt: inbox.Receipt) -> tuple[Response, int]:
    """202 {id, status: accepted} (plus replayed: true for a redelivery), or 422 with the field errors."""
    rejected = receipt.status == InboxStatus.REJECTED
    body: dict[str, object] = {"id": receipt.inbox_id, "status": "rejected" if rejected else "accepted"}
    if receipt.replayed:
        body["replayed"] = True
    if rejected:
        return jsonify({**body, "error": "invalid lead", "errors": receipt.errors}), 422
    return jsonify(body), 202


@bp.post("/hooks/forms/<source>")
def form_hook(source: str) -> tuple[Response, int]:
    rt = current_runtime()
    spec = rt.spec.sources.get(source)
    if spec is None or spec.kind != "form":
        raise ApiError(404, f"no web-form source named {source!r} in flows.yaml")
    raw = read_body(rt)
    secret = rt.settings.secret(spec.secret_env) if spec.secret_env else None
    if not secret:
        raise ApiError(503, f"source {source!r} has no secret configured: set {spec.secret_env}")
    header = idempotency_header()
    try:
        signing.verify(secret, request.headers.get("X-Leadwire-Signature"), raw, now=time.time(),
                       idempotency_key=header)
    except signing.SignatureError as exc:
        raise ApiError(401, str(exc)) from exc
    payload = parse_lead_body(raw)
    key = inbox.idempotency_key(raw, header)
    return receipt_response(accept(rt, source=source, channel="form", raw=raw, payload=payload,
                                   idempotency_key=key, content_type=request.mimetype))
