"""Leadwire's error types, grouped by what the caller must do.

    LeadwireError
    ├── ConfigError          stop: fix settings / flows.yaml (lists every problem, file:line)
    ├── InvalidLead          reject: a payload or row that cannot become a lead (never retried)
    ├── NotFound             a named thing (source, lead, rep, offer) does not exist
    ├── InvalidAction        a request the lead (or rep) cannot take in its state; says what to do instead
    ├── TokenError           a signed link is tampered, expired or already used
    └── CrmError
        ├── CrmTransientError   retry later: 429, 5xx, limit errors, timeouts
        ├── CrmAuthError        alert an operator: credentials rejected
        └── CrmRejectedError    park the record with the CRM's reason
"""
from __future__ import annotations

from dataclasses import dataclass


class LeadwireError(Exception):
    """Base of every error Leadwire raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One configuration problem at a place in a file (line is 1-based, 0 if unknown)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class ConfigError(LeadwireError):
    """Settings or flow files are wrong; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("settings", 0, problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class FieldError:
    """A field of a lead and what is wrong with it."""

    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


class InvalidLead(LeadwireError):
    """A payload that cannot become a lead; names each field and its problem."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.problem}" for e in self.errors))


class NotFound(LeadwireError):
    """A named thing does not exist."""


class InvalidAction(LeadwireError):
    """An action that cannot be carried out; the message says what to do instead. With `field`, the
    request's value of that field is wrong (a bad request); without, the lead's or rep's state forbids
    it ("lead 12 is won: reopen it first")."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


class TokenError(LeadwireError):
    """A signed link is tampered with, expired, or already used."""


class CrmError(LeadwireError):
    """Base of errors coming back from a CRM, already translated by its adapter."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class CrmTransientError(CrmError):
    """Worth retrying: rate limits, server errors, timeouts, outages."""


class CrmAuthError(CrmError):
    """Credentials rejected: an operator must act; retrying will not help."""


class CrmRejectedError(CrmError):
    """The CRM refused this record: park it with the CRM's reason."""
