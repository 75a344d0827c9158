"""One place that renders Leadwire errors as JSON with the status a client should act on."""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from connector.core.errors import InvalidAction, InvalidLead, LeadwireError, NotFound, TokenError


class ApiError(Exception):
    """An HTTP error with a message that tells the client what to fix."""

    def __init__(self, status: int, message: str, **extra):
        self.status, self.message, self.extra = status, message, extra
        super().__init__(message)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify({"error": exc.message, **exc.extra}), exc.status

    @app.errorhandler(InvalidLead)
    def _invalid(exc: InvalidLead):
        return jsonify({"error": "invalid lead", "errors": [e.as_dict() for e in exc.errors]}), 422

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return jsonify({"error": str(exc)}), 404

    @app.errorhandler(InvalidAction)
    def _invalid_action(exc: InvalidAction):  # a wrong value in the request: 400; the lead's state: 409
        if exc.field:
            return jsonify({"error": str(exc), "field": exc.field}), 400
        return jsonify({"error": str(exc)}), 409

    @app.errorhandler(TokenError)
    def _token(exc: TokenError):
        return jsonify({"error": str(exc)}), 410

    @app.errorhandler(LeadwireError)
    def _other(exc: LeadwireError):
        return jsonify({"error": str(exc)}), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return jsonify({"error": exc.description or exc.name}), exc.code
