"""`leadwire leads assign|reoffer|reroute|reopen ID`: RevOps' manual actions on a lead from the shell.

Each prints what it did; an unknown lead or rep, or an action the lead's state forbids, prints the
reason (what to do instead) and exits 1. `--by` names who acts on the lead's timeline (default "cli").
"""
from __future__ import annotations

import sys
from collections.abc import Callable

import click
from sqlalchemy.orm import Session

from connector.capture import actions
from connector.core.errors import InvalidAction, NotFound
from connector.core.runtime import Runtime
from connector.jobs.boot import build_runtime

by_option = click.option("--by", default="cli", show_default=True, help="Who acts (shown on the lead's timeline).")


@click.group("leads")
def leads() -> None:
    """Act on a lead: assign it, offer it again, decide it again, or reopen a won/lost one."""


def _run(act: Callable[[Session, Runtime], actions.Done]) -> None:
    """Run one action in one transaction; a refused action prints its reason and exits 1."""
    rt = build_runtime(queue="inline")
    try:
        with rt.db.session() as s:
            done = act(s, rt)
    except (NotFound, InvalidAction) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        rt.close()
    click.echo(done.message)


@leads.command("assign")
@click.argument("lead_id", type=int)
@click.option("--rep", "rep_email", required=True, help="The rep's e-mail address.")
@by_option
def assign(lead_id: int, rep_email: str, by: str) -> None:
    """Make the rep with e-mail --rep the owner of lead LEAD_ID, as if they had accepted it."""
    _run(lambda s, rt: actions.assign(s, rt, lead_id, actions.rep_by_email(s, rep_email).id, by=by,
                                      now=rt.clock.now()))


@leads.command("reoffer")
@click.argument("lead_id", type=int)
@by_option
def reoffer(lead_id: int, by: str) -> None:
    """Start lead LEAD_ID's offer plan again with fresh offers."""
    _run(lambda s, rt: actions.reoffer(s, rt, lead_id, by=by, now=rt.clock.now()))


@leads.command("reroute")
@click.argument("lead_id", type=int)
@by_option
def reroute(lead_id: int, by: str) -> None:
    """Decide lead LEAD_ID again under the current flows.yaml and offer it as a new lead would be."""
    _run(lambda s, rt: actions.reroute(s, rt, lead_id, by=by, now=rt.clock.now()))


@leads.command("reopen")
@click.argument("lead_id", type=int)
@click.option("--to", "to", required=True, type=click.Choice(actions.REOPEN_TO),
              help="Back into a nurture stream, or into routing.")
@click.option("--stream", help="The nurture stream (default: the flow's lost_to_nurture, else flows.yaml's default).")
@by_option
def reopen(lead_id: int, to: str, stream: str | None, by: str) -> None:
    """Reopen a won, lost or closed lead LEAD_ID (un-convert it)."""
    _run(lambda s, rt: actions.reopen(s, rt, lead_id, to=to, stream=stream, by=by, now=rt.clock.now()))
