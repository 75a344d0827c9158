"""A measure's result: a titled table (columns + rows) with an optional chart hint and summary."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column: `kind` is text|int|rate|seconds|money|datetime and says how to show the value."""

    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    """What every measure returns; rows are plain dicts keyed by column key."""

    measure: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
    chart: dict[str, Any] | None = None  # {"kind": "bar"|"columns"|"funnel", "label": key, "values": [keys]}
    note: str = ""

    def as_json(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "title": self.title,
            "filters": filters or {},
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": [{k: _plain(v) for k, v in row.items()} for row in self.rows],
            "summary": {k: _plain(v) for k, v in self.summary.items()},
            "note": self.note,
        }

    def as_csv(self) -> str:
        """The rows as CSV with a header of column labels (machine values, not display strings).

        Text that a spreadsheet would run as a formula (=, +, -, @ first: lead names come from public
        forms) is prefixed with an apostrophe so it opens as text.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.label for c in self.columns])
        for row in self.rows:
            writer.writerow([_cell(row.get(c.key), c.kind) for c in self.columns])
        return out.getvalue()


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "text" and isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return _plain(value)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def rate(part: int | float | None, whole: int | float | None) -> float | None:
    """part / whole rounded to 4 places, or None when there is nothing to divide by."""
    if not whole:
        return None
    return round((part or 0) / whole, 4)
