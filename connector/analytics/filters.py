"""The one Filters value every measure takes: date range, source, campaign, flow, team, partner, rep."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, FromClause, select

from connector.core.errors import FieldError, LeadwireError
from connector.store.models import Lead, Offer, Rep

LEADS = Lead.__table__
OFFERS = Offer.__table__
REPS = Rep.__table__
TEXT_FIELDS = ("source", "campaign", "flow", "team", "partner")


class InvalidFilter(LeadwireError):
    """A filter value that cannot be used; names each field and its problem."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.problem}" for e in self.errors))


def _day(errors: list[FieldError], name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(FieldError(name, f"{value!r} is not a date: use YYYY-MM-DD"))
        return None


@dataclass(frozen=True)
class Filters:
    """Which leads a measure looks at. Dates are UTC days of capture, both ends inclusive.

    `rep` (a rep id) and `partner` select leads owned by that rep / by reps of that partner;
    offer measures apply them to the rep each offer went to instead.
    """

    start: date | None = None
    end: date | None = None
    source: str | None = None
    campaign: str | None = None
    flow: str | None = None
    team: str | None = None
    partner: str | None = None
    rep: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Filters:
        """Read URL query arguments (`from`, `to`, `source`, ...); raise InvalidFilter naming bad ones."""
        errors: list[FieldError] = []
        start, end = _day(errors, "from", args.get("from")), _day(errors, "to", args.get("to"))
        if start and end and end < start:
            errors.append(FieldError("to", f"{end} is before from={start}"))
        rep = None
        raw_rep = (args.get("rep") or "").strip()
        if raw_rep:
            if not raw_rep.isdigit():
                errors.append(FieldError("rep", f"{raw_rep!r} is not a rep id (a whole number)"))
            else:
                rep = int(raw_rep)
        text: dict[str, str | None] = {}
        for name in TEXT_FIELDS:
            value = (args.get(name) or "").strip()
            if len(value) > 128:
                errors.append(FieldError(name, "is longer than 128 characters"))
            text[name] = value or None
        if errors:
            raise InvalidFilter(errors)
        return cls(start=start, end=end, rep=rep, **text)

    def as_args(self) -> dict[str, str]:
        """The URL query arguments that reproduce these filters (only the ones set)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[{"start": "from", "end": "to"}.get(f.name, f.name)] = str(value)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, date) else v) for k, v in asdict(self).items()}

    def window(self) -> tuple[datetime | None, datetime | None]:
        """[since, before) as aware UTC datetimes."""
        since = datetime.combine(self.start, time(), UTC) if self.start else None
        before = datetime.combine(self.end + timedelta(days=1), time(), UTC) if self.end else None
        return since, before

    @property
    def on_leads(self) -> bool:
        """True when a date, source, campaign, flow or team filter is set (rows of other tables then
        need their lead joined)."""
        return any(getattr(self, n) is not None for n in ("start", "end", "source", "campaign", "flow", "team"))

    def joined(self, table: FromClause, lead_id: ColumnElement[Any]) -> FromClause:
        """`table`, joined to leads on `lead_id` only when a lead filter needs it."""
        return table.join(LEADS, LEADS.c.id == lead_id) if self.on_leads else table

    def lead_where(self, *, people: bool = True,
                   when: ColumnElement[Any] = LEADS.c.captured_at) -> list[ColumnElement[bool]]:
        """Conditions on `leads`; with people=False the rep/partner filters are left to the caller.
        The date range applies to `when` (default: the lead's capture time)."""
        conds: list[ColumnElement[bool]] = []
        since, before = self.window()
        if since is not None:
            conds.append(when >= since)
        if before is not None:
            conds.append(when < before)
        for name in ("source", "campaign", "flow", "team"):
            value = getattr(self, name)
            if value is not None:
                conds.append(LEADS.c[name] == value)
        if people:
            conds.extend(self.people_where(LEADS.c.owner_rep_id))
        return conds

    def people_where(self, rep_column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        """Conditions putting `rep_column` (a rep id) under the rep and partner filters."""
        conds: list[ColumnElement[bool]] = []
        if self.rep is not None:
            conds.append(rep_column == self.rep)
        if self.partner is not None:
            conds.append(rep_column.in_(select(REPS.c.id).where(REPS.c.partner == self.partner)))
        return conds

    def offer_where(self) -> list[ColumnElement[bool]]:
        """Conditions on `offers` joined to `leads`: lead filters, rep/partner on the offer's rep."""
        return self.lead_where(people=False) + self.people_where(OFFERS.c.rep_id)
