"""`leadwire serve`, `leadwire worker` and `leadwire import`."""
from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import click

from connector.capture import inbox
from connector.core.config import load_settings
from connector.core.errors import ConfigError
from connector.jobs.boot import build_runtime
from connector.jobs.worker import run_worker
from connector.web import create_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Web app plus an in-process worker and tick (the embedded default)."""
    from werkzeug.serving import run_simple


    rt = build_runtime(queue="thread")
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
    """Bulk capture a CSV file with a progress bar and a per-row error report (exit 1 if any row failed)."""
    from rich.progress import Progress

    rt = build_runtime(queue="inline")
    if source not in rt.spec.sources:
        raise click.BadParameter(f"no source named {source!r} in {rt.settings.flows_path}", param_hint="--source")
    with file.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    report: list[tuple[int, str, str]] = []
    counts = {"captured": 0, "replayed": 0, "rejected": 0}
    with Progress(transient=True, console=None) as progress:
        task = progress.add_task(f"importing {file.name}", total=len(rows))
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            raw = json.dumps(row, sort_keys=True).encode()
            key = "row:" + hashlib.sha256(raw).hexdigest()
            receipt = inbox.accept(rt, source=source, channel="csv", raw=raw, payload=row, idempotency_key=key)
            if receipt.status == "rejected":
                counts["rejected"] += 1
                report.extend((number, e["field"], e["problem"]) for e in receipt.errors)
            else:
                counts["replayed" if receipt.replayed else "captured"] += 1
            progress.advance(task)
    for number, field, problem in report:
        click.echo(f"{file}:{number}: {field}: {problem}", err=True)
    if errors_path:
        with errors_path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "field", "problem"])
            writer.writerows(report)
    click.echo(f"{len(rows)} rows: {counts['captured']} captured, {counts['replayed']} already imported, "
               f"{counts['rejected']} rejected")
    rt.close()
    if counts["rejected"]:
        sys.exit(1)
