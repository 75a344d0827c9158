"""`leadwire validate` and `leadwire simulate`: check flows.yaml, and dry-run it over a file of leads."""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import click
from rich.console import Console
from rich.table import Table

from connector.capture.files import RowError, read_records
from connector.core.clock import utcnow
from connector.core.errors import ConfigError, InvalidLead
from connector.flows import Context, Decision, InMemoryIndex, RepView, Spec, decide, load_spec, map_payload


def _default_flows() -> str:
    return os.environ.get("LEADWIRE_FLOWS") or "flows.yaml"


@click.command()
@click.argument("flows", required=False, type=click.Path(dir_okay=False))
def validate(flows: str | None) -> None:
    """Check FLOWS (default flows.yaml) and the mapping files it names; exit 1 on any error."""
    path = flows or _default_flows()
    spec = load_or_exit(path)
    files = {s.mapping_file for s in spec.sources.values()} | {
        m.file for f in spec.flows for m in (f.crm.hubspot, f.crm.salesforce) if m}
    weights = "/".join(f"{s.weight:g}" for s in spec.scoring.sections)
    click.echo(f"{path}: OK — {len(spec.sources)} sources, {len(spec.flows)} flows, {len(files)} mapping files, "
               f"scoring {weights}, MQL thresholds {'/'.join(map(str, spec.scoring.thresholds))}")


def load_or_exit(path: str | Path) -> Spec:
    """The flows spec at `path`; on a bad file, every problem as file:line: message, a count, and exit 1."""
    try:
        return load_spec(path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        click.echo(f"{len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} found", err=True)
        sys.exit(1)


def _reps(path: Path | None) -> list[RepView]:
    if path is None:
        return []
    known = set(RepView.__dataclass_fields__)
    items = json.loads(path.read_text(encoding="utf-8"))
    reps = []
    for item in items:
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items() if k in known}
        for key in ("absent_from", "absent_until"):
            when = values.get(key)
            if isinstance(when, str):
                values[key] = datetime.fromisoformat(when.replace("Z", "+00:00"))
        reps.append(RepView(**values))
    return reps


def _source_for(spec: Spec, path: Path, source: str | None) -> str:
    if source:
        if source not in spec.sources:
            raise click.BadParameter(f"no source named {source!r} in {spec.file}", param_hint="--source")
        return source
    kind = "csv" if path.suffix.lower() == ".csv" else "form"
    for name, src in spec.sources.items():
        if src.kind == kind:
            return name
    raise click.BadParameter(f"no {kind} source in {spec.file}; name one", param_hint="--source")


class Run:
    """One spec deciding a file's leads in order, each stored in its InMemoryIndex after its decision."""

    def __init__(self, spec: Spec, reps: list[RepView], now: datetime):
        self.spec, self.index = spec, InMemoryIndex()
        self.ctx = Context(now=now, index=self.index, reps=reps)

    def decide(self, lead: dict) -> Decision:
        decision = decide(self.spec, lead, self.ctx)
        if decision.outcome != "duplicate":
            self.index.add(lead, account_id=decision.account.account_id if decision.account else None)
        return decision


def summary(decision: Decision) -> dict:
    """The simulate row for one decision (JSON-safe)."""
    d = decision.as_dict()
    return {k: d[k] for k in ("outcome", "score", "mql_level", "flow", "team", "nurture_stream", "reject_reason",
                              "duplicate", "reasons")}


def _key(decision: Decision) -> tuple:
    return decision.outcome, decision.mql_level, decision.team


class Decided(Protocol):
    """What a side of a comparison shows: a flows.Decision, or a stored decision (capture.replay.Side)."""

    @property
    def outcome(self) -> str | None: ...
    @property
    def score(self) -> int | None: ...
    @property
    def mql_level(self) -> int | None: ...
    @property
    def team(self) -> str | None: ...
    @property
    def nurture_stream(self) -> str | None: ...
    @property
    def reject_reason(self) -> str | None: ...


def side(decision: Decided) -> str:
    """One side of a comparison in a cell: "routed (62, MQL 2) → na_insight", with stream or reason."""
    mql = f"MQL {decision.mql_level}" if decision.mql_level else "no MQL"
    team = f" → {decision.team}" if decision.team else ""
    extra = decision.nurture_stream or decision.reject_reason or ""
    return f"{decision.outcome} ({decision.score}, {mql}){team}{' ' + extra if extra else ''}"


@click.command()
@click.argument("leads", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--flows", "flows_path", type=click.Path(dir_okay=False),
              help="flows.yaml to use (default: LEADWIRE_FLOWS or flows.yaml).")
@click.option("--source", help="The source the leads come from (default: the first csv/form source).")
@click.option("--against", type=click.Path(dir_okay=False),
              help="Another flows file: list only leads it decides differently.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--reps", "reps_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON list of reps to plan routing with.")
@click.option("--now", "now_text", help="Decide as of this ISO time (default: now).")
def simulate(leads: Path, flows_path: str | None, source: str | None, against: str | None, fmt: str,
             reps_path: Path | None, now_text: str | None) -> None:
    """Dry-run the flow engine over LEADS (CSV or JSON lines): each lead's decision and reasons.

    Invalid leads are reported by row and the run goes on (exit 0: they are what a dry run is for);
    rows that cannot be read (more cells than the header, not UTF-8, not JSON) are reported too, and
    make the exit status 1. An empty file is one error and exit 1.
    """
    spec = load_spec(flows_path or _default_flows())
    other = load_spec(against) if against else None
    now = datetime.fromisoformat(now_text).replace(tzinfo=UTC) if now_text else utcnow()
    reps = _reps(reps_path)
    source_name = _source_for(spec, leads, source)
    runs = [Run(spec, reps, now)] + ([Run(other, reps, now)] if other else [])
    out = _Writer(fmt, bool(other), spec.file, other.file if other else None)
    unreadable: list[RowError] = []

    def skip(error: RowError) -> None:
        unreadable.append(error)
        click.echo(f"{leads}: {error}", err=True)

    good = invalid = differing = 0
    counts: dict[str, int] = {}
    for number, payload in read_records(leads, skip):
        lead, error = _map_row(spec, payload, source_name, csv_row=leads.suffix.lower() == ".csv")
        if lead is None:
            invalid += 1
            click.echo(f"{leads}: row {number}: {error}", err=True)
            continue
        good += 1
        decisions = [run.decide(dict(lead, attributes=dict(lead.get("attributes") or {}))) for run in runs]
        counts[decisions[0].outcome] = counts.get(decisions[0].outcome, 0) + 1
        if other is None:
            out.row(number, lead, decisions[0])
        elif _key(decisions[0]) != _key(decisions[1]):
            differing += 1
            out.diff(number, lead, decisions[0], decisions[1])
    out.finish()
    if other is not None:
        line = f"{differing} of {good} leads decided differently by {other.file} than by {spec.file}"
    elif counts:
        line = f"{good} leads: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    else:
        line = f"{good} leads"
    bad = invalid + len(unreadable)
    line += f"; {bad} bad row{'s' if bad != 1 else ''}" if bad else ""
    click.echo(line, err=fmt != "table")
    if unreadable:  # invalid leads are a finding of the dry run; rows it could not read are not
        sys.exit(1)


def _map_row(spec: Spec, payload: dict[str, Any], default_source: str, *, csv_row: bool) -> tuple[dict | None, str]:
    """(the mapped lead, "") or (None, what is wrong with the row). A CSV row's empty cells are absent fields."""
    if csv_row:
        payload = {k: v for k, v in payload.items() if v != ""}
    row_source = payload.pop("_source", None) or default_source
    try:
        return map_payload(spec, row_source, payload), ""
    except InvalidLead as exc:
        return None, "; ".join(f"{e.field}: {e.problem}" for e in exc.errors)
    except Exception as exc:  # a bad row (e.g. an unknown _source) must not stop the run
        return None, str(exc)


def diff_table(*columns: str) -> Table:
    """The comparison table of simulate --against and replay: one folding column per name."""
    table = Table(show_lines=True)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def show(table: Table) -> None:
    """Print a table at least 100 columns wide (wider terminals use their width)."""
    Console(width=max(100, Console().width), soft_wrap=False).print(table)


class _Writer:
    """table (rich), json (one object per line) or csv output of simulate."""

    def __init__(self, fmt: str, compare: bool, name: str, other: str | None):
        self.fmt, self.compare = fmt, compare
        cols = [name, other or "against"] if compare else ["outcome", "flow", "score", "MQL", "team", "reasons"]
        self.table = diff_table("row", "lead", *cols)
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer)
        if fmt == "csv":
            if compare:
                head = ["row", "email", "outcome", "mql_level", "team",
                        "against_outcome", "against_mql_level", "against_team"]
            else:
                head = ["row", "email", "outcome", "flow", "score", "mql_level", "team", "nurture_stream",
                        "reject_reason", "duplicate_of", "reasons"]
            self.csv.writerow(head)

    def row(self, number: int, lead: dict, d: Decision) -> None:
        who = lead.get("email") or f"{lead.get('first_name', '')} {lead.get('last_name', '')}".strip()
        if self.fmt == "json":
            click.echo(json.dumps({"row": number, "email": lead.get("email"), **summary(d)}))
        elif self.fmt == "csv":
            self.csv.writerow([number, lead.get("email"), d.outcome, d.flow, d.score, d.mql_level, d.team,
                               d.nurture_stream, d.reject_reason, d.duplicate.lead_id if d.duplicate else "",
                               " | ".join(d.reasons)])
        else:
            self.table.add_row(str(number), who, d.outcome, d.flow or "-", str(d.score), str(d.mql_level or "-"),
                               d.team or "-", "\n".join(d.reasons))

    def diff(self, number: int, lead: dict, a: Decision, b: Decision) -> None:
        email = lead.get("email")
        if self.fmt == "json":
            click.echo(json.dumps({"row": number, "email": email, "flows": summary(a), "against": summary(b)}))
        elif self.fmt == "csv":
            self.csv.writerow([number, email, a.outcome, a.mql_level, a.team, b.outcome, b.mql_level, b.team])
        else:
            self.table.add_row(str(number), email or "-", side(a), side(b))

    def finish(self) -> None:
        if self.fmt == "table":
            show(self.table)
        elif self.fmt == "csv":
            click.echo(self.buffer.getvalue(), nl=False)
