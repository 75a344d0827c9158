"""`leadwire`: the command line. Each area's commands live in connector/commands/; listed here explicitly."""
from __future__ import annotations

import logging
import sys

import click

from connector.commands import (
    core_cmd,
    crm_cmd,
    db_cmd,
    demo_cmd,
    flows_cmd,
    leads_cmd,
    privacy_cmd,
    replay_cmd,
    reps_cmd,
    tick_cmd,
)
from connector.core.errors import ConfigError


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def cli(verbose: bool) -> None:
    """Leadwire: capture, clean, match, score, route and track every lead."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


COMMANDS = [
    core_cmd.serve,
    core_cmd.worker,
    core_cmd.import_leads,
    db_cmd.db,
    demo_cmd.demo,
    reps_cmd.reps,
    leads_cmd.leads,
    tick_cmd.tick,
    flows_cmd.validate,
    flows_cmd.simulate,
    replay_cmd.replay,
    crm_cmd.sandbox,
    crm_cmd.crm,
    crm_cmd.sync,
    privacy_cmd.privacy,
]
reps_cmd.reps.add_command(crm_cmd.sync_owners)
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    """Console entry point: configuration errors are printed plainly, with exit status 1."""
    try:
        cli(standalone_mode=False)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
