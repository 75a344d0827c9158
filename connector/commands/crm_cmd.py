"""`leadwire sandbox`, `crm check|setup`, `sync status|retry|drain` and `reps sync-owners`."""
from __future__ import annotations

import threading
from collections.abc import Callable

import click

from connector.core.runtime import Runtime
from connector.crm import configured
from connector.jobs.boot import build_runtime
from connector.sync import crm_fields, drain
from connector.sync.owners import sync_owners as sync_uc


@click.command()
@click.option("--port", default=8765, show_default=True, type=int, help="HTTP port (HubSpot API and /_sandbox admin).")
@click.option("--tls-port", default=8766, show_default=True, type=int, help="HTTPS port (Salesforce API).")
def sandbox(port: int, tls_port: int) -> None:
    """The local CRM sandbox (HubSpot CRM v3 + Salesforce REST subsets) until Ctrl-C."""
    from connector.demo.sandbox import Sandbox  # here, not on top: the sandbox needs `cryptography` (demo extra)

    box = Sandbox(port=port, tls_port=tls_port)
    box.start()
    click.echo(f"HubSpot API:     {box.base_url}    (HUBSPOT_API_BASE)")
    click.echo(f"Salesforce API:  {box.tls_url}   (SALESFORCE_INSTANCE_URL; SALESFORCE_CA_BUNDLE={box.ca_file})")
    click.echo(f"Faults / stats:  {box.base_url}/_sandbox/faults  {box.base_url}/_sandbox/stats")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()


@click.group("crm")
def crm() -> None:
    """The CRMs' side: the properties and fields Leadwire writes."""


def _crms(rt: Runtime, crms: tuple[str, ...]) -> list[str]:
    chosen = list(crms) or configured(rt.settings.env)
    if not chosen:
        raise click.ClickException("no CRM is configured: set HUBSPOT_* or SALESFORCE_* (see docs/crm-setup.md)")
    return chosen


def _report(report: crm_fields.SchemaReport) -> None:
    for line in report.done:
        click.echo(f"{report.crm}: {line}")
    for line in report.problems:
        click.echo(f"{report.crm}: MISSING {line}")
    if not report.problems:
        click.echo(f"{report.crm}: ready ({len(report.fields)} fields checked)")


CRM_CHOICE = click.Choice(["hubspot", "salesforce"])


def _run(use_case: Callable[[Runtime, str], crm_fields.SchemaReport], crms: tuple[str, ...]) -> None:
    """Run check or setup for each chosen CRM, print the reports, exit 1 while anything is missing."""
    rt = build_runtime(queue="inline")
    try:
        reports = [use_case(rt, name) for name in _crms(rt, crms)]
    finally:
        rt.close()
    for report in reports:
        _report(report)
    if any(r.problems for r in reports):
        raise SystemExit(1)


@crm.command("check")
@click.option("--crm", "crms", multiple=True, type=CRM_CHOICE, help="Only these CRMs (default: every configured one).")
def crm_check(crms: tuple[str, ...]) -> None:
    """Check that each CRM has every property / field the flows write; exit 1 naming what is missing."""
    _run(crm_fields.check, crms)


@crm.command("setup")
@click.option("--crm", "crms", multiple=True, type=CRM_CHOICE, help="Only these CRMs (default: every configured one).")
def crm_setup(crms: tuple[str, ...]) -> None:
    """Create the properties / fields the flows write where the CRM's API allows; exit 1 if some are left."""
    _run(crm_fields.setup, crms)


@click.group("sync")
def sync() -> None:
    """The CRM outbox: what is waiting, parked or failing, and re-queueing."""


@sync.command("status")
def sync_status() -> None:
    """Pending, failed (retrying) and parked writes per CRM."""
    rt = build_runtime(queue="inline")
    try:
        with rt.db.session() as s:
            counts = drain.status(s)
    finally:
        rt.close()
    if not counts:
        click.echo("outbox is empty")
    for crm, c in sorted(counts.items()):
        click.echo(f"{crm:<11} pending {c['pending']:>6}  failed {c['failed']:>6}  "
                   f"parked {c['parked']:>6}  sent {c['sent']:>6}")


@sync.command("retry")
@click.option("--crm", type=click.Choice(["hubspot", "salesforce"]), help="Only this CRM.")
def sync_retry(crm: str | None) -> None:
    """Re-queue parked writes (after fixing what the CRM refused)."""
    rt = build_runtime(queue="inline")
    try:
        with rt.db.session() as s:
            n = drain.retry_parked(s, rt.clock.now(), crm)
    finally:
        rt.close()
    click.echo(f"{n} parked writes re-queued")


@sync.command("drain")
@click.argument("crm", type=click.Choice(["hubspot", "salesforce"]))
def sync_drain(crm: str) -> None:
    """Push every due write to CRM now."""
    rt = build_runtime(queue="inline")
    try:
        report = drain.drain(rt, crm)
    finally:
        rt.close()
    click.echo(f"{crm}: {report.sent} sent, {report.parked} parked, "
               f"{report.retry} to retry in {report.batches} batches")


@click.command("sync-owners")
@click.option("--crm", "crms", multiple=True, type=click.Choice(["hubspot", "salesforce"]),
              help="Only these CRMs (default: every configured one).")
def sync_owners(crms: tuple[str, ...]) -> None:
    """Fill reps' HubSpot owner ids / Salesforce user ids from the CRM users with the same e-mail."""
    rt = build_runtime(queue="inline")
    try:
        for crm in crms or configured(rt.settings.env):
            done = sync_uc(rt, crm)
            click.echo(f"{crm}: {done['matched']} reps matched, {done['changed']} changed, "
                       f"{done['unmatched']} reps without a {crm} user")
    finally:
        rt.close()
