"""One place that renders Leadwire errors with the status a client should act on: JSON for the API and the
hooks, a short HTML page for the pages a browser shows (the dashboard, offer and feedback pages).

An outage of the database or of Redis is a 503 with Retry-After: the client sends the same request again
(the capture paths are idempotent)."""
from __future__ import annotations

import logging

import redis.exceptions
from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from connector.core.errors import InvalidAction, InvalidLead, LeadwireError, NotFound, TokenError

log = logging.getLogger(__name__)

HTML_PREFIXES = ("/dashboard", "/o/", "/f/")  # the pages a browser shows; everything else answers JSON
RETRY_AFTER = 5  # seconds a client waits before sending again during an outage
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class ApiError(Exception):
    """An HTTP error with a message that tells the client what to fix."""

    def __init__(self, status: int, message: str, **extra):
        self.status, self.message, self.extra = status, message, extra
        super().__init__(message)


def is_page() -> bool:
    """True when the request is for an HTML page (the dashboard, the offer and feedback pages)."""
    return request.path.startswith(HTML_PREFIXES)


def answer(status: int, message: str, headers: dict[str, str] | None = None, **extra) -> tuple[Response, int]:
    """The error as JSON {error, ...extra}, or as a page for the HTML pages."""
    if is_page():
        resp = Response(render_template("error.html", status=status, message=message), mimetype="text/html")
    else:
        resp = jsonify({"error": message, **extra})
    resp.headers.update(headers or {})
    return resp, status


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return answer(exc.status, exc.message, **exc.extra)

    @app.errorhandler(InvalidLead)
    def _invalid(exc: InvalidLead):
        return answer(422, "invalid lead", errors=[e.as_dict() for e in exc.errors])

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return answer(404, str(exc))

    @app.errorhandler(InvalidAction)
    def _invalid_action(exc: InvalidAction):  # a wrong value in the request: 400; the lead's state: 409
        if exc.field:
            return answer(400, str(exc), field=exc.field)
        return answer(409, str(exc))

    @app.errorhandler(TokenError)
    def _token(exc: TokenError):
        return answer(410, str(exc))

    @app.errorhandler(LeadwireError)
    def _other(exc: LeadwireError):
        return answer(400, str(exc))

    def _database_down(exc: Exception):  # the type only: a database error's text can carry lead values
        log.warning("%s %s: the database is unavailable (%s)", request.method, request.path, type(exc).__name__)
        return answer(503, f"the database is unavailable: retry in {RETRY_AFTER} s",
                      {"Retry-After": str(RETRY_AFTER)})

    def _redis_down(exc: Exception):
        log.warning("%s %s: Redis is unavailable (%s)", request.method, request.path, type(exc).__name__)
        return answer(503, f"the job queue is unavailable: retry in {RETRY_AFTER} s", {"Retry-After": str(RETRY_AFTER)})

    for database_error in DATABASE_DOWN:
        app.register_error_handler(database_error, _database_down)
    for redis_error in REDIS_DOWN:
        app.register_error_handler(redis_error, _redis_down)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return answer(exc.code or 500, exc.description or exc.name)
