"""Capture endpoints: signed web forms (the REST API's POST /api/leads is in web/api.py). Each answers
only after the inbox commit; the body helpers here are shared with the API and the CRM webhooks."""
from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from connector.capture import inbox
from connector.core import signing
from connector.core.runtime import Runtime
from connector.store.statuses import InboxStatus
from connector.web.context import current_runtime
from connector.web.error_handlers import ApiError

bp = Blueprint("hooks", __name__)


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
    """JSON object or form-encoded fields; anything else is a 400 that says what was expected."""
    try:
        return inbox.parse_body(raw, request.mimetype)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc


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
    try:
        signing.verify(secret, request.headers.get("X-Leadwire-Signature"), raw, now=time.time())
    except signing.SignatureError as exc:
        raise ApiError(401, str(exc)) from exc
    payload = parse_lead_body(raw)
    key = inbox.idempotency_key(raw, request.headers.get("Idempotency-Key"))
    return receipt_response(inbox.accept(rt, source=source, channel="form", raw=raw, payload=payload,
                                         idempotency_key=key, content_type=request.mimetype))
