"""HubSpot credentials: a private-app token, or an OAuth app's refresh token exchanged for access tokens.

OAuth access tokens live `expires_in` seconds (https://developers.hubspot.com/docs/api/oauth/tokens); the
app must keep that time and refresh before it ends (https://developers.hubspot.com/apps/api_guidelines),
so a token is renewed `margin` seconds early, and again when HubSpot answers 401 EXPIRED_AUTHENTICATION.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import urllib3
from hubspot import Client
from hubspot.oauth import exceptions as oauth_exc

from connector.core.errors import ConfigError, CrmAuthError, CrmTransientError, Problem

OAUTH_VARS = ("HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN")


class Credentials(Protocol):
    renewable: bool

    def token(self) -> str: ...
    def renew(self) -> None: ...


class PrivateAppToken:
    """A private app's access token: it does not expire (https://developers.hubspot.com/docs/api/private-apps)."""

    renewable = False

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def renew(self) -> None:
        raise CrmAuthError("HubSpot refused the private-app token (HUBSPOT_ACCESS_TOKEN): rotate it in the app")


class OAuthTokens:
    """Access tokens for an OAuth app, from POST /oauth/v1/token with grant_type=refresh_token."""

    renewable = True

    def __init__(self, client_id: str, client_secret: str, refresh_token: str, *, host: str | None = None,
                 now: Callable[[], float] = time.time, margin: float = 300.0) -> None:
        self.client_id, self._secret, self._refresh = client_id, client_secret, refresh_token
        self.host, self.now, self.margin = host, now, margin
        self._access: str | None = None
        self.expires_at = 0.0
        self.renewals = 0

    def token(self) -> str:
        """A current access token, renewed first when it ends within `margin` seconds."""
        if self._access is None or self.now() >= self.expires_at - self.margin:
            self.renew()
        assert self._access is not None
        return self._access

    def renew(self) -> None:
        """Exchange the refresh token for a new access token (and keep a rotated refresh token)."""
        config = {"host": self.host} if self.host else {}
        try:
            answer = Client.create(**config).oauth.tokens_api.create(
                grant_type="refresh_token", client_id=self.client_id, client_secret=self._secret,
                refresh_token=self._refresh)
        except oauth_exc.ApiException as exc:
            status = exc.status or 0
            if status == 0 or status >= 500 or status == 429:
                raise CrmTransientError(f"HubSpot OAuth token endpoint answered {status}", status=status) from None
            try:
                code = json.loads(exc.body or "{}").get("status", "")
            except (TypeError, ValueError):
                code = ""
            raise CrmAuthError(f"HubSpot refused the OAuth refresh ({status} {code}): check HUBSPOT_CLIENT_ID, "
                               "HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN, or reinstall the app",
                               status=status) from None
        except urllib3.exceptions.HTTPError as exc:
            raise CrmTransientError(f"HubSpot OAuth token endpoint unreachable: {type(exc).__name__}") from None
        self._access = answer.access_token
        self.expires_at = self.now() + float(answer.expires_in or 0)
        self._refresh = answer.refresh_token or self._refresh
        self.renewals += 1


def credentials_from_env(env: Mapping[str, str], *, host: str | None = None,
                         now: Callable[[], float] = time.time) -> Credentials:
    """The credentials the environment names; ConfigError saying which variables are missing or clash.

    HUBSPOT_CLIENT_SECRET alone does not ask for OAuth: it also verifies webhook signatures."""
    token = env.get("HUBSPOT_ACCESS_TOKEN")
    oauth = {k: env.get(k) for k in OAUTH_VARS}
    wants_oauth = bool(oauth["HUBSPOT_CLIENT_ID"] or oauth["HUBSPOT_REFRESH_TOKEN"])
    if token and wants_oauth:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN and HUBSPOT_CLIENT_ID / HUBSPOT_REFRESH_TOKEN are both set: use a "
                          "private-app token or an OAuth app, not both")
    if token:
        return PrivateAppToken(token)
    if wants_oauth:
        missing = [k for k, v in oauth.items() if not v]
        if missing:
            raise ConfigError([Problem("settings", 0, f"{k} is not set; HubSpot OAuth needs all of "
                                       f"{', '.join(OAUTH_VARS)}") for k in missing])
        return OAuthTokens(oauth["HUBSPOT_CLIENT_ID"] or "", oauth["HUBSPOT_CLIENT_SECRET"] or "",
                           oauth["HUBSPOT_REFRESH_TOKEN"] or "", host=host, now=now)
    raise ConfigError("HubSpot is not configured: set HUBSPOT_ACCESS_TOKEN (a private app) or HUBSPOT_CLIENT_ID, "
                      "HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN (an OAuth app); see docs/crm-setup.md")
