"""Settings: defaults, and clear start-up errors for every malformed value."""
import subprocess
import sys

import pytest

from connector.core.config import load_settings
from connector.core.errors import ConfigError


def test_defaults_are_the_embedded_setup():
    s = load_settings({})
    assert s.database_url == "sqlite:///leadwire.db" and s.redis_url is None and s.embedded
    assert s.flows_path == "flows.yaml"


def test_postgres_urls_use_psycopg3():
    env = {"DATABASE_URL": "postgres://u@h/db", "LEADWIRE_SECRET_KEY": "k" * 32}
    assert load_settings(env).database_url == "postgresql+psycopg://u@h/db"


def test_every_bad_setting_is_named_at_once():
    with pytest.raises(ConfigError) as err:
        load_settings({"DATABASE_URL": "mysql://x", "REDIS_URL": "http://r", "LEADWIRE_MAX_BODY_BYTES": "lots",
                       "LEADWIRE_SECRET_KEY": "short"})
    text = str(err.value)
    for name in ("DATABASE_URL", "REDIS_URL", "LEADWIRE_MAX_BODY_BYTES", "LEADWIRE_SECRET_KEY"):
        assert name in text
    assert len(err.value.problems) == 4


def test_cli_reports_bad_settings_plainly_with_exit_1(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "mysql://nope", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "connector", "serve"], env=env, capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 1
    assert "DATABASE_URL" in proc.stderr and "Traceback" not in proc.stderr
