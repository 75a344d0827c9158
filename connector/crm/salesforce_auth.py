"""Salesforce logins: OAuth 2.0 JWT bearer and refresh token (token requests to SALESFORCE_LOGIN_URL), the
username/password SOAP login as a fallback, or a given session; every credential variable checked at start.

simple-salesforce builds its token URL as https://{domain}.salesforce.com/services/oauth2/token and has no
refresh token grant (simple_salesforce/login.py), so the OAuth exchanges are made here with PyJWT + requests
and the session handed to Salesforce(instance_url=..., session_id=...).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from simple_salesforce import SalesforceLogin

from connector.core.errors import ConfigError, CrmAuthError, CrmTransientError, Problem
from connector.crm.redact import redact

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
# the assertion's exp: Salesforce takes one a few minutes ahead (help: "OAuth 2.0 JWT Bearer Flow for
# Server-to-Server Integration", https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm)
ASSERTION_SECONDS = 180
# the ways to log in, each with the variables it needs (any of a tuple's names will do)
FLOWS: dict[str, tuple[tuple[str, ...], ...]] = {
    "a session (tests, short scripts)": (("SALESFORCE_INSTANCE_URL",), ("SALESFORCE_ACCESS_TOKEN",)),
    "the JWT bearer flow": (("SALESFORCE_CLIENT_ID",), ("SALESFORCE_USERNAME",),
                            ("SALESFORCE_PRIVATE_KEY", "SALESFORCE_PRIVATE_KEY_FILE")),
    "the refresh token flow": (("SALESFORCE_CLIENT_ID",), ("SALESFORCE_CLIENT_SECRET",), ("SALESFORCE_REFRESH_TOKEN",)),
    "username and password (fallback)": (("SALESFORCE_USERNAME",), ("SALESFORCE_PASSWORD",)),
}


@dataclass(frozen=True)
class SfSession:
    """An access token, the instance it is valid on, and the user it acts as when the login said so."""

    access_token: str
    instance_url: str
    user_id: str | None = None


Login = Callable[[], SfSession]


def user_from_identity(identity: str | None) -> str | None:
    """The user id at the end of an identity URL (https://login.salesforce.com/id/<org id>/<user id>)."""
    parts = (identity or "").rstrip("/").split("/")
    return parts[-1] if len(parts) >= 3 and parts[-3] == "id" else None


def token_request(http: requests.Session, login_url: str, data: dict[str, str]) -> SfSession:
    """POST a grant to <login_url>/services/oauth2/token: a session, CrmAuthError (refused) or
    CrmTransientError (unreachable, 5xx). The answer's error and description are kept, masked."""
    url = f"{login_url.rstrip('/')}/services/oauth2/token"
    try:
        answer = http.post(url, data=data, headers={"Accept": "application/json"}, timeout=30)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise CrmTransientError(f"Salesforce login unreachable: {type(exc).__name__}") from None
    if answer.status_code >= 500:
        raise CrmTransientError(f"Salesforce login answered {answer.status_code}", status=answer.status_code)
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or not body.get("access_token"):
        raise CrmAuthError(f"Salesforce login refused ({data.get('grant_type')}): {body.get('error', '')}: "
                           f"{redact(body.get('error_description', ''))}", status=answer.status_code)
    return SfSession(body["access_token"], body["instance_url"], user_from_identity(body.get("id")))


@dataclass
class JwtBearer:
    """OAuth 2.0 JWT bearer: an RS256 assertion {iss: client id, sub: username, aud, exp} for the token."""

    client_id: str
    username: str
    private_key: str
    login_url: str
    http: requests.Session
    audience: str | None = None
    now: Callable[[], float] = time.time

    def __call__(self) -> SfSession:
        claims = {"iss": self.client_id, "sub": self.username, "aud": self.audience or self.login_url.rstrip("/"),
                  "exp": int(self.now()) + ASSERTION_SECONDS}
        assertion = jwt.encode(claims, self.private_key, algorithm="RS256")
        return token_request(self.http, self.login_url, {"grant_type": JWT_GRANT, "assertion": assertion})


@dataclass
class RefreshToken:
    """OAuth 2.0 refresh token: a new access token for the connected app's refresh token."""

    client_id: str
    client_secret: str
    refresh_token: str
    login_url: str
    http: requests.Session

    def __call__(self) -> SfSession:
        return token_request(self.http, self.login_url, {
            "grant_type": "refresh_token", "client_id": self.client_id, "client_secret": self.client_secret,
            "refresh_token": self.refresh_token})


@dataclass
class Password:
    """The SOAP username/password login (simple-salesforce's; My Domain via SALESFORCE_DOMAIN)."""

    username: str
    password: str
    security_token: str
    domain: str | None
    http: requests.Session

    def __call__(self) -> SfSession:
        session_id, instance = SalesforceLogin(username=self.username, password=self.password,
                                               security_token=self.security_token, domain=self.domain,
                                               session=self.http)
        return SfSession(session_id, f"https://{instance}")


def _private_key(env: Mapping[str, str]) -> str:
    """The PEM private key from SALESFORCE_PRIVATE_KEY (\\n escapes allowed) or SALESFORCE_PRIVATE_KEY_FILE."""
    if env.get("SALESFORCE_PRIVATE_KEY"):
        name, text = "SALESFORCE_PRIVATE_KEY", env["SALESFORCE_PRIVATE_KEY"].replace("\\n", "\n")
    else:
        name, path = "SALESFORCE_PRIVATE_KEY_FILE", env["SALESFORCE_PRIVATE_KEY_FILE"]
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError([Problem("settings", 0, f"{name}: cannot read {path}: {exc.strerror}")]) from None
    try:
        load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError([Problem("settings", 0, f"{name} is not an unencrypted PEM private key (the key "
                                                  "whose certificate the connected app holds)")]) from None
    return text


def _complete(env: Mapping[str, str], flow: str) -> bool:
    return all(any(env.get(name) for name in group) for group in FLOWS[flow])


def _missing(env: Mapping[str, str]) -> ConfigError:
    """ConfigError naming, for each way to log in that is partly configured (else every way), what is missing."""
    started = [f for f, groups in FLOWS.items() if any(env.get(n) for g in groups for n in g)] or list(FLOWS)
    problems = [Problem("settings", 0, f"Salesforce login by {flow}: set " + ", ".join(
        " or ".join(group) for group in FLOWS[flow] if not any(env.get(n) for n in group)))
        for flow in started]
    return ConfigError(problems)


def login_from_env(env: Mapping[str, str], http: requests.Session,
                   now: Callable[[], float] = time.time) -> Login | None:
    """The login the environment configures (None: a given session, SALESFORCE_INSTANCE_URL + _ACCESS_TOKEN);
    ConfigError naming what is missing. OAuth flows win over username/password, which is only a fallback."""
    login_url = env.get("SALESFORCE_LOGIN_URL") or DEFAULT_LOGIN_URL
    if _complete(env, "a session (tests, short scripts)"):
        return None
    if _complete(env, "the JWT bearer flow"):
        return JwtBearer(env["SALESFORCE_CLIENT_ID"], env["SALESFORCE_USERNAME"], _private_key(env), login_url, http,
                         audience=env.get("SALESFORCE_JWT_AUDIENCE") or None, now=now)
    if _complete(env, "the refresh token flow"):
        return RefreshToken(env["SALESFORCE_CLIENT_ID"], env["SALESFORCE_CLIENT_SECRET"],
                            env["SALESFORCE_REFRESH_TOKEN"], login_url, http)
    if _complete(env, "username and password (fallback)") and not env.get("SALESFORCE_CLIENT_ID"):
        return Password(env["SALESFORCE_USERNAME"], env["SALESFORCE_PASSWORD"],
                        env.get("SALESFORCE_SECURITY_TOKEN", ""), env.get("SALESFORCE_DOMAIN") or None, http)
    raise _missing(env)
