"""Masking of personal data in CRM messages before they reach logs or stored error text."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"\+?\d[\d ()./-]{7,}\d")
LIMIT = 300


def redact(text: object) -> str:
    """`text` with e-mail local parts and phone numbers masked, cut to 300 characters."""
    value = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", str(text))
    value = _PHONE.sub("[phone]", value)
    return value if len(value) <= LIMIT else value[:LIMIT] + "…"
