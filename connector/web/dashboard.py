"""The RevOps dashboard: login, measures as SVG charts and tables, CSV export, queue, lead search, and
a lead's page with its manual actions (assign, reoffer, reroute, reopen: POST forms with a CSRF token)."""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, session, url_for
from sqlalchemy import distinct, select
from sqlalchemy.orm import Session

from connector.analytics import MEASURES, Filters, InvalidFilter, run, run_all
from connector.analytics.filters import LEADS, REPS
from connector.analytics.unassigned import lead_detail, search
from connector.capture import actions
from connector.core import bounds
from connector.core.errors import InvalidAction, NotFound
from connector.core.runtime import Runtime
from connector.web import csrf
from connector.web.auth import has_api_key
from connector.web.context import current_runtime
from connector.web.dashboard_charts import fmt, render
from connector.web.login_guard import LOCKOUT, SESSION_TTL, LoginGuard, guard_for

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")
SESSION_KEY = "leadwire_dashboard"
OPEN_ENDPOINTS = {"dashboard.login"}
MAX_OPTIONS = 200
BY_KEY = "leadwire_dashboard_by"  # the name last given on an action form, offered again
LEAD_ACTIONS = ("assign", "reoffer", "reroute", "reopen")


def init_app(app: Flask, rt: Runtime) -> None:
    """The login guard (sessions, throttling) and `csrf_token()` for every template's forms."""
    app.extensions["leadwire_login"] = guard_for(rt)
    app.jinja_env.globals["csrf_token"] = lambda: csrf.token(rt.settings.secret_key)
    app.jinja_env.globals["csrf_field"] = csrf.FIELD


def _guard_state() -> LoginGuard:
    return current_app.extensions["leadwire_login"]


def _password() -> str | None:
    """The secret that opens the dashboard: LEADWIRE_ADMIN_PASSWORD (the API key never does)."""
    return current_runtime().settings.admin_password or None


def _fingerprint(credential: str) -> str:
    """What the server keeps for a session: a keyed hash, so nothing reveals the password and a changed
    password ends every session."""
    key = current_runtime().settings.secret_key.encode()
    return hmac.new(key, b"dashboard:" + credential.encode(), hashlib.sha256).hexdigest()


def logged_in() -> bool:
    """True when the cookie names a session the server still holds, opened with the current password."""
    sid, password = session.get(SESSION_KEY), _password()
    if not isinstance(sid, str) or not password:
        return False
    held = _guard_state().sessions.get(sid)
    return held is not None and hmac.compare_digest(held, _fingerprint(password))


@bp.before_request
def _guard():
    """Never open by default: disabled without a password; login required otherwise. A CSV export also
    takes the API key (a script's download, not a browser session)."""
    if request.endpoint == "dashboard.export" and has_api_key(current_runtime()):
        return None
    if not _password():
        return render_template("dashboard_disabled.html"), 503
    if request.endpoint in OPEN_ENDPOINTS or logged_in():
        return None
    if request.endpoint == "dashboard.export":
        return Response("Log in at /dashboard/login (or send Authorization: Bearer <LEADWIRE_API_KEY>).\n",
                        status=401, mimetype="text/plain")
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target \
            and not bounds.bad_character(target, free_text=False):
        return target
    return url_for("dashboard.index")


def _login_page(error: str | None, status: int, headers: dict[str, str] | None = None):
    return render_template("dashboard_login.html", error=error, next=request.values.get("next", "")), status, \
        headers or {}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """GET shows the form; POST checks the form's CSRF token, the lockout, then the password (constant
    time). Failures are counted per client address and for the account, with an audit line each."""
    if request.method == "GET":
        return _login_page(None, 200)
    guard, rt, client = _guard_state(), current_runtime(), request.remote_addr or "unknown"
    if not csrf.valid(rt.settings.secret_key, request.form.get(csrf.FIELD)):
        return _login_page("This form has expired: try again.", 400)
    locked = guard.locked_for(client)
    if locked > 0:
        guard.refused(client, locked)
        return _login_page(f"Too many failed logins: try again in {math.ceil(locked / 60)} minutes.", 429,
                           {"Retry-After": str(math.ceil(locked))})
    given, password = request.form.get("password", ""), _password() or ""
    if given and hmac.compare_digest(given.encode(), password.encode()):
        sid = secrets.token_urlsafe(32)
        guard.sessions.start(sid, _fingerprint(password), SESSION_TTL)
        session.clear()
        session[SESSION_KEY] = sid
        guard.succeeded(client)
        return redirect(_safe_next(request.form.get("next")))
    if not given:
        return _login_page("Enter the password.", 401)
    if guard.failed(client):
        return _login_page(f"Too many failed logins: try again in {LOCKOUT // 60} minutes.", 429,
                           {"Retry-After": str(LOCKOUT)})
    return _login_page("Wrong password.", 401)


@bp.post("/logout")
def logout():
    """End the session on the server (a copied cookie stops working), then forget the cookie."""
    if not csrf.valid(current_runtime().settings.secret_key, request.form.get(csrf.FIELD)):
        return render_template("error.html", status=400,
                               message="this form has expired or did not come from this page: try again"), 400
    sid = session.get(SESSION_KEY)
    if isinstance(sid, str):
        _guard_state().sessions.end(sid)
    session.clear()
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


@bp.get("/leads/<id:lead_id>")
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
    return render_template("dashboard_lead.html", fmt=fmt, error=error, reps=reps, by=session.get(BY_KEY, ""),
                           streams=rt.spec.nurture_streams if rt.spec is not None else (),
                           closed=actions.CLOSED, waiting=actions.ROUTED, **detail), status


@bp.post("/leads/<id:lead_id>/<action>")
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
        if not (rep.isascii() and rep.isdigit()):
            raise InvalidAction("choose the rep to assign the lead to", field="rep_id")
        if not bounds.id_in_range(int(rep)):
            raise NotFound(f"no rep {rep}")
        return actions.assign(s, rt, lead_id, int(rep), by=by, now=now)
    if action == "reopen":
        to = form.get("to", "")
        if to not in actions.REOPEN_TO:
            raise InvalidAction(f"choose where to reopen the lead: {' or '.join(actions.REOPEN_TO)}", field="to")
        stream = form.get("stream", "").strip() if to == "nurture" else ""
        return actions.reopen(s, rt, lead_id, to=to, stream=stream or None, by=by, now=now)
    act = actions.reoffer if action == "reoffer" else actions.reroute
    return act(s, rt, lead_id, by=by, now=now)
