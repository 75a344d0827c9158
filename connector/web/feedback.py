"""The no-login feedback pages: the three-section form at /f/<token> and one-click level-1 answers.

GET never changes anything: a one-click link from the e-mail shows a confirmation page whose button
POSTs. Bad input re-renders the form with HTTP 422 and each field's problem; a link that cannot be
used (tampered, another lead's, expired, lead reassigned) gets a page saying why and what to do.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request
from marshmallow import ValidationError

from connector.core.errors import NotFound, TokenError
from connector.flows import cadence, pursuit
from connector.pursuit import answers, links, requests
from connector.web.context import current_runtime

bp = Blueprint("feedback", __name__, template_folder="templates")

LABELS = {"contacted": "Contacted?", "action": "How", "action_at": "When", "pursuit_status": "Pursuit status",
          "outcome": "Won or lost", "amount": "Amount", "close_date": "Close date", "lost_reason": "Lost reason",
          "form": "Form"}


def _refused(exc: TokenError):
    message = str(exc)
    status = 410 if ("expired" in message or "reassigned" in message) else 403
    return render_template("feedback_refused.html", message=message), status


def _form_values(known: pursuit.Answers) -> dict:
    values = {k: "" if v is None else v for k, v in known.as_dict().items()}
    if known.contacted is not None:
        values["contacted"] = "yes" if known.contacted else "no"
    if isinstance(values.get("amount"), float):
        values["amount"] = f"{values['amount']:g}"
    return values


def _page(opened: links.Opened, values: dict, errors: dict | None = None, status: int = 200):
    return render_template(
        "feedback_form.html", opened=opened, lead=opened.lead, values=values, errors=errors or {},
        labels=LABELS, statuses=opened.spec.statuses, lost_reasons=opened.spec.lost_reasons,
        actions=pursuit.ACTIONS, known=opened.known, level_names=cadence.LEVEL_NAMES,
        summary=requests.lead_summary(opened.lead)), status


def _done(opened: links.Opened, response, token: str):
    return render_template("feedback_thanks.html", response=response, lead=opened.lead, token=token,
                           level_names=cadence.LEVEL_NAMES, labels=LABELS,
                           summary=requests.lead_summary(opened.lead)), 200


@bp.get("/f/<token>")
def show(token: str):
    rt = current_runtime()
    with rt.db.session() as s:
        try:
            opened = links.open_request(s, rt, token, rt.clock.now())
        except TokenError as exc:
            return _refused(exc)
        return _page(opened, _form_values(opened.known))


@bp.post("/f/<token>")
def submit(token: str):
    rt = current_runtime()
    now = rt.clock.now()
    with rt.db.session() as s:
        try:
            opened = links.open_request(s, rt, token, now)
        except TokenError as exc:
            return _refused(exc)
        try:
            response = answers.answer(s, rt, opened, request.form.to_dict(), now)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages}
            errors = {k: "; ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in messages.items()}
            return _page(opened, request.form.to_dict(), errors, 422)
        return _done(opened, response, token)


@bp.route("/f/<token>/quick/<action>", methods=["GET", "POST"])
def quick(token: str, action: str):
    rt = current_runtime()
    now = rt.clock.now()
    with rt.db.session() as s:
        try:
            opened = links.open_request(s, rt, token, now)
            given = answers.quick_answers(action, now)
        except TokenError as exc:
            return _refused(exc)
        except NotFound as exc:
            return render_template("feedback_refused.html", message=str(exc)), 404
        if request.method == "GET":
            return render_template("feedback_confirm.html", lead=opened.lead,
                                   summary=requests.lead_summary(opened.lead), label=links.QUICK_ACTIONS[action],
                                   day=now.date(), token=token), 200
        response = answers.record(s, rt, opened.lead, opened.request.rep_id, given, now,
                                   request=opened.request, via="email")
        return _done(opened, response, token)
