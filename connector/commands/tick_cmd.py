"""`leadwire tick [--at ISO-TIME]`: run every periodic step once (offer expiry, e-mail retries, ...)."""
from __future__ import annotations

from datetime import UTC, datetime

import click

from connector.jobs.boot import build_runtime
from connector.jobs.tick import run_tick


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date-time like 2026-01-05T09:30:00Z",
                                 param_hint="--at") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command()
@click.option("--at", "at", help="Process as of this time (ISO 8601, default now, UTC if no offset).")
def tick(at: str | None) -> None:
    """Run the tick once: expire offers and move leads on, retry e-mails, and every other due timer."""
    when = _when(at)
    rt = build_runtime(queue="inline")
    try:
        done = run_tick(rt, when)
    finally:
        rt.close()
    click.echo(f"tick at {(when or rt.clock.now()).isoformat()}: "
               + ", ".join(f"{name} {count}" for name, count in done.items()))
