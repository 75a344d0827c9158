"""The dashboard's forms as a browser fills them: GET the page for its CSRF token, then POST it."""
from __future__ import annotations

import re


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on an HTML page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def post_login(client, password: str, next_url: str = "", **environ):
    """Open the login page, then post `password` with the page's token; the response to the POST."""
    token = csrf_token(client.get("/dashboard/login", **environ).get_data(as_text=True))
    return client.post("/dashboard/login", data={"password": password, "next": next_url, "csrf_token": token},
                       **environ)


def logout(client):
    """Post the log-out form of the dashboard's page (with its token)."""
    token = csrf_token(client.get("/dashboard").get_data(as_text=True))
    return client.post("/dashboard/logout", data={"csrf_token": token})
