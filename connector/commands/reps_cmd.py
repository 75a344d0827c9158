"""`leadwire reps import FILE` and `leadwire reps list`."""
from __future__ import annotations

from pathlib import Path

import click

from connector.jobs.boot import build_runtime
from connector.routing import reps as reps_uc


@click.group("reps")
def reps() -> None:
    """Manage the reps and partners leads are offered to."""


@reps.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_reps(file: Path) -> None:
    """Create or update reps from a CSV or YAML file (matched by e-mail); every problem as file:line."""
    rt = build_runtime(queue="inline")
    try:
        done = reps_uc.import_records(rt, reps_uc.read_file(file), where=str(file))
    finally:
        rt.close()
    click.echo(f"{done['created']} reps created, {done['updated']} updated from {file}")


@reps.command("list")
@click.option("--team", help="Only this team.")
def list_reps(team: str | None) -> None:
    """A table of reps: team, partner, territory, products, capacity, hours, absence."""
    from rich.console import Console
    from rich.table import Table

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
