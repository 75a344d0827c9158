"""The dashboard's account page, /dashboard/accounts/<id>: owner, hold, leads and account history
(connector.routing.account_view), behind the dashboard's own login (its before_request guard)."""
from __future__ import annotations

from flask import Blueprint, render_template

from connector.routing.account_view import account_view
from connector.web import dashboard
from connector.web.context import current_runtime
from connector.web.dashboard_charts import fmt

bp = Blueprint("account_page", __name__, url_prefix="/dashboard/accounts", template_folder="templates")
bp.before_request(dashboard._guard)  # the same login as every dashboard page: disabled, or log in first


@bp.get("/<id:account_id>")
def account(account_id: int):
    """One account; an unknown id answers 404 with the page saying so."""
    rt = current_runtime()
    with rt.db.session() as s:
        view = account_view(s, account_id, rt.clock.now())
    if view is None:
        return render_template("account.html", account=None, account_id=account_id, fmt=fmt), 404
    return render_template("account.html", account=view, account_id=account_id, fmt=fmt)
