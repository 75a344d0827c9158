"""`leadwire serve`, `leadwire worker` and `leadwire import`."""
from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import click
from rich.progress import Progress
from werkzeug.serving import run_simple

from connector.capture import inbox
from connector.capture.files import RowError, read_csv
from connector.core import bounds
from connector.core.config import load_settings
from connector.core.errors import ConfigError
from connector.jobs.backends import ThreadQueue
from connector.jobs.boot import build_runtime
from connector.jobs.worker import run_worker
from connector.store.statuses import InboxStatus
from connector.web import create_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Web app plus an in-process worker and tick (the embedded default)."""
    rt = build_runtime(queue="thread")
    if isinstance(rt.queue, ThreadQueue):  # always, with queue="thread": the workers run in this process
        rt.queue.start()
    click.echo(f"Leadwire on http://{host}:{port} (database {rt.db.engine.url.render_as_string(hide_password=True)})")
    run_simple(host, port, create_app(runtime=rt), threaded=True, use_reloader=False)


@click.command()
@click.option("--burst", is_flag=True, help="Run queued jobs, then exit (no tick).")
def worker(burst: bool) -> None:
    """An RQ worker with the periodic tick (needs REDIS_URL)."""
    if not load_settings().redis_url:
        raise ConfigError("REDIS_URL is not set: `leadwire worker` runs RQ jobs from Redis "
                          "(without Redis, `leadwire serve` runs jobs in-process)")
    run_worker(burst=burst)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="The source in flows.yaml these rows come from.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-row error report as CSV here.")
def import_leads(file: Path, source: str, errors_path: Path | None) -> None:
    """Bulk capture a CSV file with a progress bar and a per-row error report (exit 1 if any row failed).

    Rows that cannot be read (more cells than the header, not UTF-8) are reported and skipped; every
    other row is captured. An empty file, or one without a header, is one error and exit 1.
    """
    rt = build_runtime(queue="inline")
    try:
        if source not in rt.spec.sources:
            raise click.BadParameter(f"no source named {source!r} in {rt.settings.flows_path}",
                                     param_hint="--source")
        unreadable: list[RowError] = []
        rows = list(read_csv(file, unreadable.append))
        report = [(e.line, "", e.message) for e in unreadable]
        counts = {"captured": 0, "replayed": 0, "rejected": 0}
        with Progress(transient=True, console=None) as progress:
            task = progress.add_task(f"importing {file.name}", total=len(rows))
            for number, row in rows:
                unstorable = bounds.text_problems(row)
                if unstorable:  # refused before the inbox: the store cannot keep the row as it is
                    counts["rejected"] += 1
                    report.extend((number, e.field, e.problem) for e in unstorable)
                    progress.advance(task)
                    continue
                raw = json.dumps(row, sort_keys=True).encode()
                key = "row:" + hashlib.sha256(raw).hexdigest()
                receipt = inbox.accept(rt, source=source, channel="csv", raw=raw, payload=row, idempotency_key=key)
                if receipt.status == InboxStatus.REJECTED:
                    counts["rejected"] += 1
                    report.extend((number, e["field"], e["problem"]) for e in receipt.errors)
                else:
                    counts["replayed" if receipt.replayed else "captured"] += 1
                progress.advance(task)
    finally:
        rt.close()
    report.sort(key=lambda r: r[0])
    for number, field, problem in report:
        click.echo(f"{file}: row {number}: {field + ': ' if field else ''}{problem}", err=True)
    if errors_path:
        with errors_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "field", "problem"])
            writer.writerows(report)
    click.echo(f"{len(rows) + len(unreadable)} rows: {counts['captured']} captured, "
               f"{counts['replayed']} already imported, {counts['rejected']} rejected"
               + (f", {len(unreadable)} unreadable" if unreadable else ""))
    if counts["rejected"] or unreadable:
        sys.exit(1)
