"""The RevOps dashboard: login, measures as SVG charts and tables, CSV export, queue, lead search, and
a lead's page with its manual actions (assign, reoffer, reroute, reopen: POST forms with a CSRF token)."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from sqlalchemy import distinct, select
from sqlalchemy.orm import Session

from connector.analytics import MEASURES, Filters, InvalidFilter, run, run_all
from connector.analytics.filters import LEADS, REPS
from connector.analytics.unassigned import lead_detail, search
from connector.capture import actions
from connector.core.errors import InvalidAction, NotFound
from connector.core.runtime import Runtime
from connector.web import csrf
from connector.web.auth import has_api_key
from connector.web.context import current_runtime
from connector.web.dashboard_charts import fmt, render

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")
SESSION_KEY = "leadwire_dashboard"
OPEN_ENDPOINTS = {"dashboard.login"}
MAX_OPTIONS = 200
BY_KEY = "leadwire_dashboard_by"  # the name last given on an action form, offered again
LEAD_ACTIONS = ("assign", "reoffer", "reroute", "reopen")


def _credentials() -> list[str]:
    """The secrets that open the dashboard: LEADWIRE_ADMIN_PASSWORD and LEADWIRE_API_KEY (if set)."""
    settings = current_runtime().settings
    return [c for c in (settings.admin_password, settings.api_key) if c]


def _fingerprint(credential: str) -> str:
    """What the session cookie keeps: a keyed hash, so the cookie never reveals the password and a
    changed password logs everyone out."""
    key = current_runtime().settings.secret_key.encode()
    return hmac.new(key, b"dashboard:" + credential.encode(), hashlib.sha256).hexdigest()


def logged_in() -> bool:
    """True when the session holds a fingerprint of a currently configured credential."""
    held = session.get(SESSION_KEY, "")
    return any(hmac.compare_digest(held, _fingerprint(c)) for c in _credentials())


@bp.before_request
def _guard():
    """Never open by default: disabled without credentials; login required otherwise."""
    if not _credentials():
        return render_template("dashboard_disabled.html"), 503
    if request.endpoint in OPEN_ENDPOINTS or logged_in():
        return None
    if request.endpoint == "dashboard.export":
        if has_api_key(current_runtime()):
            return None
        return Response("Log in at /dashboard/login (or send Authorization: Bearer <LEADWIRE_API_KEY>).\n",
                        status=401, mimetype="text/plain")
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """GET shows the form; POST checks the password (admin password or API key) in constant time."""
    error = None
    if request.method == "POST":
        given = request.form.get("password", "")
        match = next((c for c in _credentials() if hmac.compare_digest(given.encode(), c.encode())), None)
        if match is not None:
            session.clear()
            session[SESSION_KEY] = _fingerprint(match)
            return redirect(_safe_next(request.form.get("next")))
        error = "Wrong password." if given else "Enter the password."
    status = 401 if error else 200
    return render_template("dashboard_login.html", error=error, next=request.values.get("next", "")), status


@bp.post("/logout")
def logout():
    session.pop(SESSION_KEY, None)
    return redirect(url_for("dashboard.login"))


def _filters() -> tuple[Filters, list]:
    try:
        return Filters.from_args(request.args), []
    except InvalidFilter as exc:
        return Filters(), exc.errors


def _options() -> dict[str, Sequence[Any]]:
    """Choices for the filter form, read from the data (distinct values, capped)."""
    db = current_runtime().db
    out: dict[str, Sequence[Any]] = {}
    with db.engine.connect() as conn:
        for name in ("source", "campaign", "flow", "team"):
            col = LEADS.c[name]
            out[name] = conn.execute(select(distinct(col)).where(col.is_not(None)).order_by(col)
                                     .limit(MAX_OPTIONS)).scalars().all()
        out["partner"] = conn.execute(select(distinct(REPS.c.partner)).where(REPS.c.partner.is_not(None))
                                      .order_by(REPS.c.partner)).scalars().all()
        out["rep"] = conn.execute(select(REPS.c.id, REPS.c.name).order_by(REPS.c.name)).all()
    return out


@bp.get("")
def index():
    """Every measure as a chart and a table under the filters in the URL query."""
    filters, errors = _filters()
    tables = {} if errors else run_all(current_runtime().db, filters)
    return render_template("dashboard_index.html", tables=tables, charts={k: render(t) for k, t in tables.items()},
                           filters=filters, query=filters.as_args(), errors=errors, options=_options(), fmt=fmt)


@bp.get("/export/<measure>.csv")
def export(measure: str):
    """One measure's table as CSV under the same filters (unknown measure → 404)."""
    if measure not in MEASURES:
        return Response(f"No measure named {measure!r}.\n", status=404, mimetype="text/plain")
    try:
        filters = Filters.from_args(request.args)
    except InvalidFilter as exc:
        return Response(f"{exc}\n", status=400, mimetype="text/plain")
    body = run(current_runtime().db, measure, filters).as_csv()
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="leadwire-{measure}.csv"'})


@bp.get("/search")
def lead_search():
    """Leads matching `q` in e-mail, name or company; each opens its timeline."""
    q = request.args.get("q", "").strip()
    table = None
    if len(q) >= 2:
        with current_runtime().db.engine.connect() as conn:
            table = search(conn, q)
    return render_template("dashboard_search.html", q=q, table=table, fmt=fmt)


@bp.get("/leads/<int:lead_id>")
def lead(lead_id: int):
    """One lead: its fields, hold, sibling and account, score breakdown, timeline with each decision's
    explanation, and the forms of the actions its status allows."""
    return _lead_page(lead_id)


def _lead_page(lead_id: int, error: str | None = None, status: int = 200):
    rt = current_runtime()
    with rt.db.engine.connect() as conn:
        detail = lead_detail(conn, lead_id)
        reps = conn.execute(select(REPS.c.id, REPS.c.name, REPS.c.team).where(REPS.c.active.is_(True))
                            .order_by(REPS.c.name)).all()
    return render_template("dashboard_lead.html", fmt=fmt, error=error, reps=reps, csrf_field=csrf.FIELD,
                           csrf_token=csrf.token(rt.settings.secret_key), by=session.get(BY_KEY, ""),
                           streams=rt.spec.nurture_streams if rt.spec is not None else (),
                           closed=actions.CLOSED, waiting=actions.ROUTED, **detail), status


@bp.post("/leads/<int:lead_id>/<action>")
def lead_action(lead_id: int, action: str):
    """One action form of the lead page; back to the page with what was done, or with why not (4xx)."""
    if action not in LEAD_ACTIONS:
        return _lead_page(lead_id, f"no action {action!r}; use one of {', '.join(LEAD_ACTIONS)}", 404)
    rt = current_runtime()
    if not csrf.valid(rt.settings.secret_key, request.form.get(csrf.FIELD)):
        return _lead_page(lead_id, "this form has expired or did not come from this page: try again", 400)
    by = request.form.get("by", "").strip()[:64]
    try:
        with rt.db.session() as s:
            done = _act(s, rt, action, lead_id, by or "dashboard")
    except NotFound as exc:
        return _lead_page(lead_id, str(exc), 404)
    except InvalidAction as exc:
        return _lead_page(lead_id, str(exc), 400 if exc.field else 409)
    session[BY_KEY] = by
    flash(done.message)
    return redirect(url_for("dashboard.lead", lead_id=lead_id), 303)


def _act(s: Session, rt: Runtime, action: str, lead_id: int, by: str) -> actions.Done:
    form, now = request.form, rt.clock.now()
    if action == "assign":
        rep = form.get("rep_id", "").strip()
        if not rep.isdigit():
            raise InvalidAction("choose the rep to assign the lead to", field="rep_id")
        return actions.assign(s, rt, lead_id, int(rep), by=by, now=now)
    if action == "reopen":
        to = form.get("to", "")
        if to not in actions.REOPEN_TO:
            raise InvalidAction(f"choose where to reopen the lead: {' or '.join(actions.REOPEN_TO)}", field="to")
        stream = form.get("stream", "").strip() if to == "nurture" else ""
        return actions.reopen(s, rt, lead_id, to=to, stream=stream or None, by=by, now=now)
    act = actions.reoffer if action == "reoffer" else actions.reroute
    return act(s, rt, lead_id, by=by, now=now)
