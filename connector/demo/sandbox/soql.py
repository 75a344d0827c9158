"""A tiny SOQL subset for the sandbox: SELECT fields FROM object [WHERE a AND b] [ORDER BY f [ASC|DESC]] [LIMIT n]."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$", re.I | re.S)
_COND = re.compile(r"^\s*(?P<field>\w+)\s*(?P<op>!=|>=|<=|=|>|<|\bIN\b)\s*(?P<value>.+?)\s*$", re.I)
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")


class SoqlError(ValueError):
    """The query is outside the subset (Salesforce would answer MALFORMED_QUERY)."""


@dataclass(frozen=True)
class Query:
    fields: list[str]
    object: str
    where: list[Callable[[dict], bool]]
    order: str | None
    descending: bool
    limit: int | None

    def run(self, rows: list[dict]) -> list[dict]:
        """Filter, order and limit the rows; only the selected fields come back."""
        hits = [r for r in rows if all(cond(r) for cond in self.where)]
        if self.order:
            hits.sort(key=lambda r: _key(r.get(self.order)), reverse=self.descending)
        if self.limit is not None:
            hits = hits[: self.limit]
        return [{f: r.get(f) for f in self.fields} for r in hits]


_SOQL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


def _parse_time(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text)


def _key(value: Any) -> tuple[int, Any]:
    if isinstance(value, str) and _DATETIME.match(value):
        return (1, _parse_time(value))
    return (0, value if value is not None else "")


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("\\'", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    if _DATETIME.match(text):
        # a SOQL datetime literal is YYYY-MM-DDThh:mm:ssZ or ±hh:mm, without fractional seconds
        # (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm)
        if not _SOQL_DATETIME.match(text):
            raise SoqlError(f"line 1:0 no viable alternative at character '{text}': not a SOQL datetime literal")
        return _parse_time(text)
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        raise SoqlError(f"unexpected token: '{text}'") from None


def _condition(text: str) -> Callable[[dict], bool]:
    match = _COND.match(text)
    if not match:
        raise SoqlError(f"unexpected token: '{text.strip()}'")
    field, op, raw = match["field"], match["op"].upper(), match["value"]
    if op == "IN":
        values = [_literal(v) for v in raw.strip()[1:-1].split(",")]
        return lambda r: r.get(field) in values
    want = _literal(raw)

    def check(row: dict) -> bool:
        have = row.get(field)
        if isinstance(want, datetime):
            if not have:
                return False
            have = _parse_time(have)
        if op == "=":
            return have == want
        if op == "!=":
            return have != want
        if have is None or want is None:
            return False
        return {">": have > want, ">=": have >= want, "<": have < want, "<=": have <= want}[op]

    return check


def parse(text: str) -> Query:
    """Parse one query of the subset; raise SoqlError on anything else."""
    match = _QUERY.match(text or "")
    if not match:
        raise SoqlError("unexpected token: query must be SELECT ... FROM ...")
    where = re.split(r"\s+AND\s+", match["where"], flags=re.I) if match["where"] else []
    return Query(
        fields=[f.strip() for f in match["fields"].split(",")],
        object=match["object"],
        where=[_condition(w) for w in where],
        order=match["order"],
        descending=(match["dir"] or "").upper() == "DESC",
        limit=int(match["limit"]) if match["limit"] else None,
    )
