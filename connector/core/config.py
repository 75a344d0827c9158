"""Settings from the environment (12-factor), validated once at start."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from connector.core.errors import ConfigError, Problem

DEFAULT_BODY_CAP = 256 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything Leadwire reads from its environment."""

    database_url: str = "sqlite:///leadwire.db"
    redis_url: str | None = None
    flows_path: str = "flows.yaml"
    api_key: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))  # embedded default only
    base_url: str = "http://127.0.0.1:8000"
    public_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "leadwire@localhost"
    max_body_bytes: int = DEFAULT_BODY_CAP
    admin_password: str | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def embedded(self) -> bool:
        """True when jobs run in-process (no Redis)."""
        return not self.redis_url

    def secret(self, name: str) -> str | None:
        """A secret named by flows.yaml (e.g. secret_env: WEBSITE_FORM_SECRET)."""
        return self.env.get(name)


def _url(problems: list[Problem], name: str, value: str | None, schemes: tuple[str, ...]) -> None:
    if value is None:
        return
    parsed = urlparse(value)
    scheme = parsed.scheme.split("+")[0]
    if scheme not in schemes:
        shown = value.split("@")[-1]  # never the credentials before the host
        problems.append(Problem("environment", 0, f"{name}={shown!r} is not a URL with scheme {' or '.join(schemes)}"))


def shared_servers(values: Mapping[str, Any]) -> list[str]:
    """The settings among DATABASE_URL and REDIS_URL that point at a server other processes share (not the
    embedded SQLite default)."""
    shared = []
    if not str(values.get("database_url") or "sqlite").startswith("sqlite"):
        shared.append("DATABASE_URL")
    if values.get("redis_url"):
        shared.append("REDIS_URL")
    return shared


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from `env` (default os.environ); raise ConfigError naming every bad one."""
    env = dict(os.environ if env is None else env)
    problems: list[Problem] = []
    values: dict[str, Any] = {"env": env}
    mapping = {
        "DATABASE_URL": "database_url",
        "REDIS_URL": "redis_url",
        "LEADWIRE_FLOWS": "flows_path",
        "LEADWIRE_API_KEY": "api_key",
        "LEADWIRE_SECRET_KEY": "secret_key",
        "LEADWIRE_BASE_URL": "base_url",
        "LEADWIRE_PUBLIC_URL": "public_url",
        "SMTP_URL": "smtp_url",
        "LEADWIRE_MAIL_FROM": "mail_from",
        "LEADWIRE_ADMIN_PASSWORD": "admin_password",
    }
    for var, attr in mapping.items():
        if env.get(var):
            values[attr] = env[var]
    cap = env.get("LEADWIRE_MAX_BODY_BYTES")
    if cap:
        if not cap.isdigit() or int(cap) < 1024:
            problems.append(Problem("environment", 0,
                                    f"LEADWIRE_MAX_BODY_BYTES={cap!r} must be a whole number of bytes, at least 1024"))
        else:
            values["max_body_bytes"] = int(cap)
    values.update(overrides)
    _url(problems, "DATABASE_URL", values.get("database_url"), ("sqlite", "postgresql", "postgres"))
    _url(problems, "REDIS_URL", values.get("redis_url"), ("redis", "rediss", "unix"))
    _url(problems, "LEADWIRE_BASE_URL", values.get("base_url"), ("http", "https"))
    _url(problems, "SMTP_URL", values.get("smtp_url"), ("smtp", "smtps"))
    if "LEADWIRE_SECRET_KEY" in env and len(env["LEADWIRE_SECRET_KEY"]) < 16:
        problems.append(Problem("environment", 0, "LEADWIRE_SECRET_KEY must be at least 16 characters"))
    elif "secret_key" not in values and shared_servers(values):
        names = " and ".join(shared_servers(values))
        problems.append(Problem("environment", 0, f"LEADWIRE_SECRET_KEY is required when {names} "
                                "points at a shared server: every process must sign offer and feedback links "
                                "and sessions with the same key (set 16+ random characters)"))
    if problems:
        raise ConfigError(problems)
    if str(values.get("database_url", "")).startswith("postgres://"):
        values["database_url"] = "postgresql://" + values["database_url"][len("postgres://"):]
    if str(values.get("database_url", "")).startswith("postgresql://"):
        values["database_url"] = "postgresql+psycopg://" + values["database_url"][len("postgresql://"):]
    return Settings(**values)
