"""`leadwire db upgrade` (the one way to migrate a shared database) and `leadwire db check`."""
from __future__ import annotations

import sys

import click

from connector.core.config import load_settings
from connector.store import Database


@click.group()
def db() -> None:
    """The database schema."""


def _database() -> Database:
    return Database(load_settings().database_url)


@db.command()
def upgrade() -> None:
    """Migrate the database to the newest schema (PostgreSQL: under an advisory lock, so concurrent runs
    wait for each other and all succeed). Run it before starting web and worker processes."""
    database = _database()
    try:
        database.upgrade()
        lag = database.schema_lag()
    finally:
        database.dispose()
    if lag:  # only a broken migration chain gets here
        raise click.ClickException(f"the upgrade left the database behind: {lag}")
    click.echo(f"database {database.engine.url.render_as_string(hide_password=True)} is at the newest schema")


@db.command()
def check() -> None:
    """Exit 0 when the database is at the newest schema, 1 (saying what to run) when it is not."""
    database = _database()
    try:
        lag = database.schema_lag()
    finally:
        database.dispose()
    if lag:
        click.echo(f"{lag}: run `leadwire db upgrade`", err=True)
        sys.exit(1)
    click.echo("the database is at the newest schema")
