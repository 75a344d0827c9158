"""The Flask app: `create_app()` wires the runtime and one blueprint per area."""
from __future__ import annotations

from flask import Flask

from connector.core.config import Settings
from connector.core.runtime import Runtime
from connector.jobs.boot import build_runtime
from connector.web import (
    account_page,
    api,
    api_accounts,
    api_actions,
    api_analytics,
    api_people,
    api_reps,
    crm_hooks,
    dashboard,
    error_handlers,
    feedback,
    health,
    hooks,
    offer_page,
    security,
)

BLUEPRINTS = [
    health.bp,
    hooks.bp,
    api.bp,
    api_actions.bp,
    feedback.bp,
    dashboard.bp,
    api_analytics.bp,
    offer_page.bp,
    api_reps.bp,
    crm_hooks.bp,
    api_accounts.bp,
    account_page.bp,
    api_people.bp,
]


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """An app on `runtime` (or one built from `settings` / the environment)."""
    rt = runtime or build_runtime(settings)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=rt.settings.secret_key, JSON_SORT_KEYS=False)
    app.extensions["leadwire"] = rt
    error_handlers.init_app(app)
    security.init_app(app, rt)
    dashboard.init_app(app, rt)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    return app
