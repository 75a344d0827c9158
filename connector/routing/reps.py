"""Reps and partners: validate records (CSV rows or YAML entries), upsert them by e-mail, list them.

CSV files are read by connector.capture.files (in `leadwire reps import`); YAML files by read_yaml here.

A record may be flat (CSV columns; lists separated by ";") or nested (YAML):
    territory: {countries: [US], regions: [US-CA], postal_prefixes: ["US:94"],
                location: {lat: 37.77, lon: -122.42, radius_km: 80}}
    capacity: {max_open_offers: 3, max_open_leads: 40}
    absent: {from: 2026-01-01T00:00:00Z, until: 2026-01-10T00:00:00Z}
    working_hours: "mon-fri 09:00-17:00; sat 10:00-13:00"   (or {mon: ["09:00", "17:00"], ...})
"""
from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import ConfigError, Problem
from connector.core.runtime import Runtime
from connector.flows.routing_strategies import DAYS
from connector.store.models import Rep

LIST_FIELDS = ("countries", "regions", "postal_prefixes", "products")
TEXT_FIELDS = ("name", "team", "partner", "manager_email", "salesforce_user_id", "hubspot_owner_id", "timezone")
_HOURS = re.compile(r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$|^24:00$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_hours(value: Any) -> dict | None:
    """Working hours as {"mon": ["09:00", "17:00"], ...}; raises ValueError naming the bad part."""
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):
        out = {}
        for day, span in value.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
            if not (isinstance(span, (list, tuple)) and len(span) == 2 and all(_HHMM.match(str(t)) for t in span)):
                raise ValueError(f"{day}: expected [\"HH:MM\", \"HH:MM\"], got {span!r}")
            out[day] = [str(span[0]), str(span[1])]
        return out
    out = {}
    for part in str(value).lower().split(";"):
        if not part.strip():
            continue
        m = _HOURS.match(part)
        if not m or m.group(1) not in DAYS or (m.group(2) and m.group(2) not in DAYS):
            raise ValueError(f"{part.strip()!r} is not like 'mon-fri 09:00-17:00'")
        first, last = DAYS.index(m.group(1)), DAYS.index(m.group(2) or m.group(1))
        for day in DAYS[first:last + 1]:
            out[day] = [m.group(3).zfill(5), m.group(4).zfill(5)]
    return out


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _flatten(record: dict) -> dict:
    flat = {k: v for k, v in record.items() if k not in ("territory", "capacity", "absent", "location")}
    terr = record.get("territory") or {}
    for key in LIST_FIELDS[:3]:
        if key in terr:
            flat[key] = terr[key]
    loc = terr.get("location") or record.get("location") or {}
    flat.update({k2: loc[k1] for k1, k2 in (("lat", "latitude"), ("lon", "longitude"), ("radius_km", "radius_km"))
                 if k1 in loc})
    flat.update(record.get("capacity") or {})
    absent = record.get("absent") or {}
    flat.update({f"absent_{k}": v for k, v in absent.items()})
    return flat


def parse_record(record: dict) -> tuple[dict, list[str]]:
    """(column values for a Rep, problems as "field: message")."""
    flat = _flatten(record)
    out: dict[str, Any] = {}
    problems: list[str] = []
    known = set(TEXT_FIELDS) | set(LIST_FIELDS) | {"email", "latitude", "longitude", "radius_km", "preferred", "weight",
                                                  "max_open_offers", "max_open_leads", "working_hours",
                                                  "absent_from", "absent_until", "active"}
    problems += [f"{k}: unknown field" for k in flat if k not in known]
    email = str(flat.get("email") or "").strip().lower()
    if not _EMAIL.match(email):
        problems.append(f"email: {email or 'missing'} is not an e-mail address")
    out["email"] = email
    out["name"] = str(flat.get("name") or "").strip() or email.split("@")[0]
    for key in TEXT_FIELDS[1:]:
        if flat.get(key) not in (None, ""):
            out[key] = str(flat[key]).strip()
    for key in LIST_FIELDS:
        raw = flat.get(key)
        items = raw if isinstance(raw, (list, tuple)) else str(raw or "").split(";")
        out[key] = [str(x).strip().upper() if key != "products" else str(x).strip() for x in items if str(x).strip()]
    problems += [f"countries: {c!r} is not a two-letter country code"
                 + (" (YAML reads a bare NO as false: quote it, \"NO\")" if c in ("FALSE", "TRUE") else "")
                 for c in out["countries"] if not re.fullmatch(r"[A-Z]{2}", c)]
    for key, kind, low, high in (("latitude", float, -90, 90), ("longitude", float, -180, 180),
                                 ("radius_km", float, 0, 20000), ("weight", float, 0, 1000),
                                 ("max_open_offers", int, 0, 10000), ("max_open_leads", int, 0, 100000)):
        if flat.get(key) in (None, ""):
            continue
        try:
            out[key] = kind(flat[key])
            if not low <= out[key] <= high:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"{key}: {flat[key]!r} must be a number from {low} to {high}")
    for key in ("preferred", "active"):
        if flat.get(key) not in (None, ""):
            out[key] = flat[key] if isinstance(flat[key], bool) else str(flat[key]).lower() in ("1", "true", "yes", "y")
    try:
        ZoneInfo(out.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"timezone: {out.get('timezone')!r} is not an IANA time zone (e.g. Europe/Berlin)")
    try:
        out["working_hours"] = parse_hours(flat.get("working_hours"))
    except ValueError as exc:
        problems.append(f"working_hours: {exc}")
    for key in ("absent_from", "absent_until"):
        try:
            out[key] = _when(flat.get(key))
        except ValueError:
            problems.append(f"{key}: {flat[key]!r} is not an ISO date-time")
    return out, problems


def read_yaml(path: Path) -> list[tuple[int, dict]]:
    """(line, record) per entry of a YAML file of reps: a list, or a mapping with key reps:."""
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([Problem(str(path), line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                                    "save the file as UTF-8")]) from None
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([Problem(str(path), mark.line + 1 if mark else 0,
                                   f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    items = loaded.get("reps") if isinstance(loaded, dict) else loaded
    if not isinstance(items, list):
        raise ConfigError([Problem(str(path), 1, "expected a list of reps (or a mapping with key reps:)")])
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"^\s*-\s", line)]
    return [(lines[n] if n < len(lines) else 0, item if isinstance(item, dict) else {}) for n, item in enumerate(items)]




def upsert(session: Session, values: dict, now: datetime) -> tuple[Rep, bool]:
    """Create or update the rep with values["email"]; returns (rep, created)."""
    rep = session.scalar(select(Rep).where(Rep.email == values["email"]))
    created = rep is None
    if rep is None:
        rep = Rep(email=values["email"], name=values["name"], created_at=now)
        session.add(rep)
    for key, value in values.items():
        setattr(rep, key, value)
    rep.updated_at = now
    session.flush()
    return rep, created


def import_records(rt: Runtime, records: list[tuple[int, dict]], *, where: str = "reps",
                   problems: list[Problem] | None = None) -> dict[str, int]:
    """Validate every record first, then upsert all in one transaction. ConfigError lists every problem:
    `problems` already found (e.g. rows of the file that could not be read) and each record's, by line."""
    parsed: list[dict[str, Any]] = []
    problems = list(problems or [])
    for line, record in records:
        values, errs = parse_record(record)
        problems += [Problem(where, line, err) for err in errs]
        parsed.append(values)
    emails = [v["email"] for v in parsed]
    problems += [Problem(where, records[i][0], f"email: {e} appears more than once")
                 for i, e in enumerate(emails) if e and emails.index(e) != i]
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line))
    created = 0
    with rt.db.session() as s:
        for values in parsed:
            created += upsert(s, values, rt.clock.now())[1]
    return {"created": created, "updated": len(parsed) - created}


def rep_dict(rep: Rep) -> dict:
    """A rep as JSON."""
    out = {c.name: getattr(rep, c.name) for c in Rep.__table__.columns}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


def list_reps(session: Session, *, team: str | None = None) -> list[Rep]:
    query = select(Rep).order_by(Rep.team, Rep.name)
    return list(session.scalars(query.where(Rep.team == team) if team else query))
