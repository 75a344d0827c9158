"""The no-login offer page: GET /o/<token> shows the lead, POST accept / decline answers (no JavaScript)."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for

from connector.core.errors import TokenError
from connector.core.runtime import Runtime
from connector.routing import offer_view, offers
from connector.web.context import current_runtime

bp = Blueprint("offers", __name__)

ANSWER_STATUS = {"accepted": 303, "declined": 303, "taken": 409, "expired": 410, "answered": 409, "closed": 409}
ANSWER_TEXT = {
    "taken": "Too late: this lead has gone to someone else — another rep accepted it first.",
    "expired": "This offer has expired: the lead has moved on to another rep.",
    "answered": "This offer was already answered; the link works once.",
    "closed": "This offer is closed.",
}


def _page(token: str, *, status: int = 200, notice: str | None = None):
    rt = current_runtime()
    with rt.db.session() as s:
        page = offer_view.load(s, rt, token, rt.clock.now())
    if page.state == "invalid":
        status = 400 if status == 200 else status
    return render_template("offer_page.html", page=page, token=token, notice=notice), status


@bp.get("/o/<token>")
def show(token: str):
    return _page(token)


def _answer(token: str, action: str):
    rt = current_runtime()
    now = rt.clock.now()
    try:
        oid = offer_view.offer_id(rt, token, now)
    except TokenError:
        return _page(token, status=410 if _expired_token(rt, token, now) else 400)
    if action == "accept":
        answer = offers.accept(rt, oid, now=now)
    else:
        answer = offers.decline(rt, oid, reason=request.form.get("reason"), now=now)
    if answer.status in ("accepted", "declined"):
        return redirect(url_for("offers.show", token=token), code=303)
    return _page(token, status=ANSWER_STATUS[answer.status], notice=ANSWER_TEXT[answer.status])


def _expired_token(rt: Runtime, token: str, now: datetime) -> bool:
    try:
        offer_view.offer_id(rt, token, now)
    except TokenError as exc:
        return "expired" in str(exc)
    return False


@bp.post("/o/<token>/accept")
def accept(token: str):
    return _answer(token, "accept")


@bp.post("/o/<token>/decline")
def decline(token: str):
    return _answer(token, "decline")
