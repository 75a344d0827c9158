"""`leadwire replay [--since DATE] [--flows NEW.yaml] [--apply]`: a change of flows.yaml replayed against
the stored leads no rep has taken (capture/replay.py), as `simulate --against` does against a file."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import click
from rich.progress import Progress

from connector.capture import replay as replay_uc
from connector.commands.flows_cmd import diff_table, load_or_exit, show, side
from connector.jobs.boot import build_runtime


def _time(value: str | None, option: str) -> datetime | None:
    """A date (midnight UTC) or an ISO time (UTC when it has no offset)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-05 or an ISO time like 2026-01-05T09:30:00Z",
                                 param_hint=option) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command()
@click.option("--since", help="Only leads captured on or after this date (YYYY-MM-DD or ISO time, UTC).")
@click.option("--flows", "flows_path", type=click.Path(dir_okay=False),
              help="The changed flows file to decide under (default: the current flows.yaml).")
@click.option("--apply", "apply_changes", is_flag=True,
              help="Carry the changes out (default: a dry run that changes nothing).")
@click.option("--by", default="cli", show_default=True, help="Who replays (on each changed lead's timeline).")
@click.option("--now", "now_text", help="Decide as of this ISO time (default: now).")
def replay(since: str | None, flows_path: str | None, apply_changes: bool, by: str, now_text: str | None) -> None:
    """Decide the stored leads again (those not accepted, won, lost or closed) and list the ones whose
    outcome, flow, team or MQL level would change; --apply carries the changes out, each lead decided
    again as a touch would (promoted, demoted, rescored) with a timeline entry naming the flows hash.

    A bad --flows file prints every problem as file:line: message and exits 1, before the database is
    touched.
    """
    since_at, now_at = _time(since, "--since"), _time(now_text, "--now")
    new_spec = load_or_exit(flows_path) if flows_path else None
    rt = build_runtime(queue="inline")
    try:
        spec = new_spec or rt.spec
        now = now_at or rt.clock.now()
        name = f"{spec.file} ({spec.hash})"
        table = diff_table("lead", "e-mail", "status", "stored decision", name, *(["applied"] if apply_changes else []))
        considered, changed, applied = 0, 0, Counter[str]()
        total = replay_uc.count(rt, since=since_at)
        with Progress(transient=True) as progress:
            task = progress.add_task("replaying" if apply_changes else "dry run", total=total)
            for item in replay_uc.replay(rt, spec, now, since=since_at, apply=apply_changes, by=by):
                considered += 1
                progress.advance(task)
                if item.before is None or item.after is None:
                    continue
                changed += 1
                cells = [str(item.lead_id), item.email or "-", item.status, side(item.before), side(item.after)]
                if apply_changes:
                    applied[item.applied or "unchanged"] += 1
                    cells.append(item.message)
                table.add_row(*cells)
    finally:
        rt.close()
    if changed:
        show(table)
    scope = f" captured since {since_at:%Y-%m-%d %H:%M} UTC" if since_at else ""
    if apply_changes:
        done = ", ".join(f"{n} {what}" for what, n in sorted(applied.items()))
        click.echo(f"{changed} of {considered} leads{scope} decided again under {name}" + (f": {done}" if done else ""))
    else:
        click.echo(f"{changed} of {considered} leads{scope} would be decided differently under {name}; "
                   "dry run, nothing changed (--apply carries it out)")
