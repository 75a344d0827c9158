"""Regenerate the initial migration from the models (pre-release only)."""
import os
import tempfile

from alembic import command

from connector.store.db import MIGRATIONS, alembic_config

versions = MIGRATIONS / "versions"
for old in versions.glob("*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{os.path.join(tmp, 'empty.db')}"
    command.revision(alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001")
path = next(versions.glob("0001_*.py"))
path.rename(versions / "0001_initial.py")
print(f"wrote {versions / '0001_initial.py'}")
