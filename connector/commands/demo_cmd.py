"""`leadwire demo`: the whole journey with a printed summary."""
from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of the figures.")
@click.option("--leads", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON-lines file of web-form payloads (default: examples/webform_leads.jsonl).")
def demo(as_json: bool, leads: Path | None) -> None:
    """Run the whole journey end to end on the embedded default, and print what happened."""
    from connector.demo import journey  # here, not on top: the demo needs `aiosmtpd` (the demo extra)

    summary = journey.run(Path.cwd(), leads)
    console = Console(stderr=as_json)
    table = Table(title="Leadwire demo", show_header=True)
    table.add_column("stage")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [("capture", "posted (incl. redeliveries)", summary["posted"]),
            ("capture", "captured", summary["captured"]),
            ("capture", "redelivered, answered with the same id", summary["redelivered"]),
            ("capture", "rejected with field errors (422)", summary["rejected"]),
            ("match", "duplicates found", summary["duplicates"]),
            ("store", "leads stored", summary["leads"])]
    rows += [("qualify", f"outcome {k}", v) for k, v in sorted(summary["by_outcome"].items(), key=str)]
    rows += [("score", f"MQL {k}", v) for k, v in sorted(summary["mql_levels"].items())]
    rows += [("route", "offers made", summary["offers"]), ("route", "accepted", summary["accepted"]),
             ("route", "declined", summary["declined"]), ("route", "expired", summary["expired"]),
             ("route", "escalated (nobody took it)", summary["escalated"]),
             ("route", "escalated, still waiting for a person at the end", summary["escalated_at_end"]),
             ("route", "median seconds to accept", summary["median_seconds_to_accept"]),
             ("live", "promoted: nurtured lead came back and was routed", summary["promoted"]),
             ("live", "offers to the account's owner first", summary["account_owner_offers"]),
             ("live", "held outside working hours, offered at day start", summary["held_outside_hours"]),
             ("live", "owned leads whose owner was told of a new touch", summary["owner_told"]),
             ("live", "reopened by RevOps", summary["reopened"]),
             ("track", "feedback requests sent", summary["feedback_requests"]),
             ("track", "level 1 answers (action taken)", summary["feedback_level1"]),
             ("track", "level 2 answers (pursuit status)", summary["feedback_level2"]),
             ("track", "level 3 answers (won / lost)", summary["feedback_level3"]),
             ("track", "won", summary["won"]), ("track", "lost", summary["lost"]),
             ("sync", "CRM records written", summary["crm_writes"]),
             ("sync", "CRM API calls", summary["crm_api_calls"]),
             ("sync", "CRM records parked", summary["crm_parked"]),
             ("notify", "e-mails received by the SMTP server", summary["emails"])]
    for stage, figure, value in rows:
        table.add_row(stage, figure, str(value))
    console.print(table)
    console.print(f"Database: {summary['database']}  (inspect with `DATABASE_URL=... leadwire serve`)")
    if as_json:
        click.echo(journey.summary_json(summary))
