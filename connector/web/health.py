"""Liveness, readiness and Prometheus metrics."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from connector.jobs.backends import RQQueue
from connector.store.models import InboxItem, Lead
from connector.web.context import current_runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database (and Redis, when jobs go through it) can be reached."""
    rt = current_runtime()
    checks: dict[str, str] = {}
    try:
        rt.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if isinstance(rt.queue, RQQueue):  # Redis is checked when this process queues its jobs there
        try:
            rt.queue.connection.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    """Counts by inbox status and lead status, computed from the database (the source of truth)."""
    rt = current_runtime()
    registry = CollectorRegistry()
    inbox = Gauge("leadwire_inbox_items", "Inbox items by status", ["status"], registry=registry)
    leads = Gauge("leadwire_leads", "Leads by status", ["status"], registry=registry)
    with rt.db.session() as s:
        for status, n in s.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)):
            inbox.labels(status).set(n)
        for status, n in s.execute(select(Lead.status, func.count()).group_by(Lead.status)):
            leads.labels(status).set(n)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
