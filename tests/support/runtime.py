"""A test deployment: the repository root, its secrets and the environment a test runtime starts with.

The fixtures that build runtimes on it (make_runtime, runtime, app, client) are in tests/conftest.py.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FORM_SECRET = "test-form-secret-0123456789"
API_KEY = "test-api-key-0123456789"

_databases = itertools.count(1)


def deployment_env(db_url: str, **extra: Any) -> dict:
    """The environment a test deployment runs with."""
    env = {"DATABASE_URL": db_url, "LEADWIRE_FLOWS": str(REPO / "flows.yaml"),
           "LEADWIRE_API_KEY": API_KEY, "LEADWIRE_SECRET_KEY": "test-secret-key-0123456789abcdef",
           "WEBSITE_FORM_SECRET": FORM_SECRET, "LEADWIRE_BASE_URL": "http://127.0.0.1:9"}
    env.update(extra)
    return env


def database_name() -> str:
    """A PostgreSQL database name no other test (in this or another test process) uses."""
    return f"t{os.getpid()}_{next(_databases)}"
