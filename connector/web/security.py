"""The web edge's guards for every blueprint: ids in range (the `id` URL converter), JSON bodies bounded in
depth and size, Secure / SameSite cookies, cross-site form posts refused, and the security headers."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter

from connector.core import bounds
from connector.core.runtime import Runtime
from connector.web.error_handlers import ApiError, is_page

CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HSTS = "max-age=31536000; includeSubDomains"


class IdConverter(IntegerConverter):
    """`<id:lead_id>`: a whole number the id columns can hold (1..MAX_ID); anything else is a 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=bounds.MAX_ID)


class BoundedJSONProvider(DefaultJSONProvider):
    """request.get_json() through bounds.load_json: too deep is a 400 (or None when silent), never a
    RecursionError."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return bounds.load_json(s)


class SessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, Secure when the public URL is https or the request came over TLS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def served_over_https(rt: Runtime) -> bool:
    """True when browsers reach Leadwire over https (LEADWIRE_PUBLIC_URL or LEADWIRE_BASE_URL says so)."""
    return any((url or "").startswith("https://") for url in (rt.settings.public_url, rt.settings.base_url))


def _origins(rt: Runtime) -> set[str]:
    urls = [request.host_url, rt.settings.base_url, rt.settings.public_url or ""]
    return {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.scheme and p.netloc}


def check_storable(value: Any, path: str = "") -> None:
    """ApiError(422) naming every field name or text in `value` the store cannot keep (bounds.text_problems)."""
    problems = bounds.text_problems(value, path)
    if problems:
        first = problems[0]
        raise ApiError(422, f"{first.field}: {first.problem}", field=first.field,
                       errors=[p.as_dict() for p in problems])


def _request_text() -> None:
    """Query parameters, path parts and (on the pages) form fields: each must be storable text."""
    for name, value in request.args.items(multi=True):
        problem = bounds.bad_character(name, free_text=False) or bounds.bad_character(value, free_text=False)
        if problem:
            raise ApiError(422, f"query parameter {name!r} {problem}", field=name)
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and bounds.bad_character(value, free_text=False):
            raise ApiError(404, f"no such {name}: the address contains a control character")
    if request.method == "POST" and is_page() and request.mimetype in ("application/x-www-form-urlencoded",
                                                                       "multipart/form-data"):
        check_storable(request.form.to_dict(flat=False), "form")


def init_app(app: Flask, rt: Runtime) -> None:
    """Install the converter, JSON provider, cookie settings and the before/after hooks on `app`."""
    app.url_map.converters["id"] = IdConverter
    app.json = BoundedJSONProvider(app)
    app.session_interface = SessionInterface()
    app.config.update(MAX_CONTENT_LENGTH=rt.settings.max_body_bytes, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=served_over_https(rt))

    app.before_request(_request_text)

    @app.before_request
    def _same_origin_forms() -> None:
        """A page's form posted from another site is refused (the browser's Origin / Sec-Fetch-Site say so)."""
        if request.method != "POST" or not is_page():
            return
        origin = request.headers.get("Origin")
        if request.headers.get("Sec-Fetch-Site") == "cross-site" or (
                origin is not None and origin not in _origins(rt)):
            raise ApiError(403, "this form was posted from another site")

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # offer and feedback links carry their token: never sent to another site ("no-referrer" would make
        # Chromium send "Origin: null" with the page's own form posts)
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure or served_over_https(rt):
            headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CSP)
            headers.setdefault("X-Frame-Options", "DENY")
        if is_page() or request.path.startswith("/api/"):  # lead data: never kept by a browser or proxy
            headers["Cache-Control"] = "no-store"
        return response
