"""The dashboard's admin password in the analytics tests."""
from __future__ import annotations

PASSWORD = "correct horse battery staple"
