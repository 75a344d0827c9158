"""`leadwire privacy erase|export EMAIL`: a person's data, erased everywhere (and in the CRMs) or printed
as JSON. Each request is logged in privacy_log without personal data."""
from __future__ import annotations

import json
import sys

import click

from connector.jobs.boot import build_runtime
from connector.store.privacy import person_hash
from connector.sync import erasure


def _address(email: str) -> str:
    try:
        person_hash(email)
    except ValueError:
        raise click.BadParameter(f"{email!r} is not an e-mail address", param_hint="EMAIL") from None
    return email


@click.group("privacy")
def privacy() -> None:
    """Data protection requests: erase a person, or export what is held about them."""


@privacy.command("erase")
@click.argument("email")
@click.option("--by", default="cli", show_default=True, help="Who asks (kept in the audit log).")
def erase(email: str, by: str) -> None:
    """Erase the person with this e-mail address everywhere Leadwire keeps them, and their CRM records."""
    rt = build_runtime(queue="inline")
    try:
        counts = erasure.erase(rt, _address(email), by=by)
    finally:
        rt.close()
    click.echo(json.dumps(counts, sort_keys=True))
    if not counts["leads"] and not counts["inbox"]:
        click.echo("nothing was held about this address", err=True)


@privacy.command("export")
@click.argument("email")
@click.option("--by", default="cli", show_default=True, help="Who asks (kept in the audit log).")
def export(email: str, by: str) -> None:
    """Print everything held about the person with this e-mail address as JSON."""
    rt = build_runtime(queue="inline")
    try:
        held = erasure.export(rt, _address(email), by=by)
    finally:
        rt.close()
    json.dump(held, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
