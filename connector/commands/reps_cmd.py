"""`leadwire reps import FILE` and `leadwire reps list`."""
from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from connector.capture.files import RowError, read_csv
from connector.core.errors import ConfigError, Problem
from connector.jobs.boot import build_runtime
from connector.routing import reps as reps_uc


@click.group("reps")
def reps() -> None:
    """Manage the reps and partners leads are offered to."""


def read_reps_file(path: Path, problems: list[Problem]) -> list[tuple[int, dict]]:
    """(row or line number, record) from a .csv or .yaml/.yml file of reps; CSV rows that cannot be read
    are added to `problems` (the other rows are still read), a file that cannot be read is a ConfigError."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        def unreadable(error: RowError) -> None:
            problems.append(Problem(str(path), error.line, error.message))

        return list(read_csv(path, unreadable))
    if suffix in (".yaml", ".yml"):
        return reps_uc.read_yaml(path)
    raise ConfigError([Problem(str(path), 0, "reps file must be .csv, .yaml or .yml")])


@reps.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_reps(file: Path) -> None:
    """Create or update reps from a CSV or YAML file (matched by e-mail); every problem as file:line.

    All or nothing: when any row is wrong (or cannot be read), every problem is listed, no rep is
    stored, and the exit status is 1.
    """
    problems: list[Problem] = []
    records = read_reps_file(file, problems)
    rt = build_runtime(queue="inline")
    try:
        done = reps_uc.import_records(rt, records, where=str(file), problems=problems)
    finally:
        rt.close()
    click.echo(f"{done['created']} reps created, {done['updated']} updated from {file}")


@reps.command("list")
@click.option("--team", help="Only this team.")
def list_reps(team: str | None) -> None:
    """A table of reps: team, partner, territory, products, capacity, hours, absence."""
    rt = build_runtime(queue="inline")
    try:
        with rt.db.session() as s:
            rows = reps_uc.list_reps(s, team=team)
            table = Table("id", "name", "e-mail", "team", "partner", "territory", "products", "pref", "w",
                          "cap", "tz", "status")
            now = rt.clock.now()
            for r in rows:
                terr = " ".join([*r.countries, *r.regions, *r.postal_prefixes]
                                + ([f"{r.radius_km:g}km"] if r.radius_km else []))
                absent = r.absent_from and r.absent_from <= now and (not r.absent_until or now < r.absent_until)
                status = "inactive" if not r.active else "absent" if absent else "active"
                table.add_row(str(r.id), r.name, r.email, r.team or "", r.partner or "", terr or "anywhere",
                              ",".join(r.products) or "all", "yes" if r.preferred else "", f"{r.weight:g}",
                              f"{r.max_open_offers}/{r.max_open_leads}", r.timezone, status)
    finally:
        rt.close()
    Console(width=200).print(table)
    click.echo(f"{len(rows)} reps")
