"""`leadwire sync status|retry|drain` and `leadwire reps sync-owners` against the sandbox."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from connector.cli import cli
from connector.store import writeback
from connector.store.models import Lead, Rep
from connector.sync import drain


def invoke(runtime, *args):
    return CliRunner().invoke(cli, list(args), env=dict(runtime.settings.env), catch_exceptions=False)


def test_sync_status_and_retry_show_and_requeue_parked_writes(runtime, sandbox, make_leads):
    ids = make_leads(2)
    with runtime.db.session() as s:
        for lead_id in ids:
            writeback.enqueue_lead_write(s, runtime, s.get(Lead, lead_id), crms=("salesforce",))
    drain.drain(runtime, "salesforce")
    with runtime.db.session() as s:
        writeback.enqueue_lead_write(s, runtime, s.get(Lead, ids[0]), {"feedback.pursuit_status": "Sleeping"},
                                crms=("salesforce",))
    drain.drain(runtime, "salesforce")
    out = invoke(runtime, "sync", "status").output
    assert "salesforce  pending      0  failed      0  parked      1  sent      2" in out
    sandbox.state.picklists["Lead.Status"].add("Sleeping")
    assert "1 parked writes re-queued" in invoke(runtime, "sync", "retry", "--crm", "salesforce").output
    assert "1 sent, 0 parked" in invoke(runtime, "sync", "drain", "salesforce").output
    assert "parked      0  sent      3" in invoke(runtime, "sync", "status").output


def test_reps_sync_owners_fills_owner_ids_by_email(runtime, sandbox, clock):
    owner = sandbox.state.add_owner("Rita@Example.com")
    user = sandbox.state.add_user("rita@example.com")
    with runtime.db.session() as s:
        s.add_all([Rep(email="rita@example.com", name="Rita", created_at=clock.now()),
                   Rep(email="nobody@example.com", name="Nobody", created_at=clock.now())])
    out = invoke(runtime, "reps", "sync-owners").output
    assert "hubspot: 1 reps matched, 1 changed, 1 reps without a hubspot user" in out
    assert "salesforce: 1 reps matched, 1 changed" in out
    with runtime.db.session() as s:
        rita = s.scalars(select(Rep).where(Rep.email == "rita@example.com")).one()
    assert (rita.hubspot_owner_id, rita.salesforce_user_id) == (owner["id"], user["Id"])


def test_an_outage_mid_drain_on_postgresql(make_runtime, pg_url, sandbox, crm_env, hubspot, salesforce, clock):
    """The claim uses FOR UPDATE SKIP LOCKED on PostgreSQL: same guarantees as on SQLite."""
    from tests.support.crm import with_test_mappings

    rt = make_runtime(pg_url, **crm_env)
    rt.spec = with_test_mappings(rt.spec)
    rt.extras["crm"] = {"hubspot": hubspot, "salesforce": salesforce}
    with rt.db.session() as s:
        leads = [Lead(source="api", flow="qualified", email=f"p{i}@example.com", last_name=f"P{i}", company="Acme",
                      captured_at=clock.now(), updated_at=clock.now()) for i in range(250)]
        s.add_all(leads)
        s.flush()
        for lead in leads:
            writeback.enqueue_lead_write(s, rt, lead, crms=("hubspot",))
    sandbox.set_faults(outage_after=2)
    assert drain.drain(rt, "hubspot").sent == 200
    sandbox.set_faults(outage=False)
    clock.advance(minutes=10)
    assert drain.drain(rt, "hubspot").sent == 50
    assert len(sandbox.state.contacts) == 250 and set(sandbox.stats()["writes"].values()) == {1}


def test_crm_setup_creates_the_properties_crm_check_then_finds(runtime, sandbox):
    for name in ("leadwire_score", "leadwire_status"):
        sandbox.state.hubspot_properties.pop(name)
    runner = CliRunner()
    env = dict(runtime.settings.env)
    check = runner.invoke(cli, ["crm", "check", "--crm", "hubspot"], env=env)
    assert check.exit_code == 1
    missing = [line for line in check.output.splitlines() if "MISSING" in line]
    assert len(missing) == 2 and "leadwire_score" in missing[0] + missing[1] and "leadwire_status" in check.output
    setup = runner.invoke(cli, ["crm", "setup", "--crm", "hubspot"], env=env)
    assert setup.exit_code == 0, setup.output
    assert {"leadwire_score", "leadwire_status"} <= set(sandbox.state.hubspot_properties)
    again = runner.invoke(cli, ["crm", "check", "--crm", "hubspot"], env=env)
    assert again.exit_code == 0 and "hubspot: ready" in again.output


def test_crm_check_names_a_missing_salesforce_field_and_setup_says_how_to_create_it(runtime, sandbox):
    sandbox.state.schema["salesforce"].discard("Leadwire_Score__c")
    env = dict(runtime.settings.env)
    check = CliRunner().invoke(cli, ["crm", "check", "--crm", "salesforce"], env=env)
    assert check.exit_code == 1 and "Lead.Leadwire_Score__c does not exist" in check.output
    setup = CliRunner().invoke(cli, ["crm", "setup", "--crm", "salesforce"], env=env)
    assert setup.exit_code == 1 and "by hand" in setup.output and "Leadwire_Score__c" in setup.output


def test_crm_check_names_a_status_value_the_flows_write_that_the_picklist_lacks(runtime, sandbox):
    sandbox.state.picklists["Lead.Status"].discard("Closed - Not Converted")
    check = CliRunner().invoke(cli, ["crm", "check", "--crm", "salesforce"], env=dict(runtime.settings.env))
    assert check.exit_code == 1 and "Closed - Not Converted" in check.output and "Status" in check.output


def test_crm_check_names_a_hubspot_lead_status_option_the_flows_write_that_the_portal_lacks(runtime, sandbox):
    sandbox.state.picklists["hs_lead_status"].discard("UNQUALIFIED")
    check = CliRunner().invoke(cli, ["crm", "check", "--crm", "hubspot"], env=dict(runtime.settings.env))
    assert check.exit_code == 1 and "'hs_lead_status' lacks the options UNQUALIFIED" in check.output
