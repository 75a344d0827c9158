"""Changes made in the CRM come back: echo suppression, each conflict rule, owner and status changes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.core.errors import ConfigError
from connector.store import writeback
from connector.store.models import FeedbackResponse, InboxItem, Lead, OutboxItem, Rep, TimelineEvent
from connector.sync import drain, events


def synced_lead(runtime, synced, **fields) -> tuple[int, str]:
    lead_id, sf_id = synced("salesforce", **fields)
    poll(runtime)  # the echo of our create: Leadwire's baseline of the record
    return lead_id, sf_id


def poll(runtime):
    return events.poll(runtime, "salesforce", runtime.clock.now())


def crm_events(runtime, lead_id):
    with runtime.db.session() as s:
        return [(e.kind, e.data) for e in s.scalars(select(TimelineEvent).where(
            TimelineEvent.lead_id == lead_id, TimelineEvent.kind.like("crm.%")).order_by(TimelineEvent.id))]


def pending(runtime):
    with runtime.db.session() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.status == "pending")))


def test_our_own_writes_do_not_come_back_as_changes(runtime, sandbox, make_leads, rep):
    (lead_id,) = make_leads(1, owner_rep_id=rep)
    with runtime.db.session() as s:
        writeback.enqueue_lead_write(s, runtime, s.get(Lead, lead_id), crms=("salesforce",))
    drain.drain(runtime, "salesforce")
    assert poll(runtime) == 1  # the record we wrote is read back ...
    assert crm_events(runtime, lead_id) == [] and pending(runtime) == []  # ... and recognised as our echo
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).crm_seen["salesforce"]["OwnerId"] == sandbox.state.users[0]["Id"]
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).owner_rep_id == rep


def test_crm_wins_takes_the_reps_owner_change(runtime, sandbox, synced, rep, clock):
    lead_id, sf_id = synced_lead(runtime, synced, owner_rep_id=rep)
    other = sandbox.state.add_user("omar@example.com", "Omar")
    with runtime.db.session() as s:
        s.add(Rep(email="omar@example.com", name="Omar", created_at=clock.now(), salesforce_user_id=other["Id"]))
    sandbox.salesforce_edit(sf_id, {"OwnerId": other["Id"]})
    poll(runtime)
    with runtime.db.session() as s:
        assert s.get(Rep, s.get(Lead, lead_id).owner_rep_id).name == "Omar"
    [(kind, data)] = crm_events(runtime, lead_id)
    assert kind == "crm.change" and data["rule"] == "crm_wins" and data["crm_field"] == "OwnerId"
    assert pending(runtime) == []


def test_leadwire_wins_keeps_our_value_and_writes_it_back(runtime, sandbox, synced):
    lead_id, sf_id = synced_lead(runtime, synced)
    sandbox.salesforce_edit(sf_id, {"Leadwire_Score__c": 5})
    poll(runtime)
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).score == 50
    [(kind, data)] = crm_events(runtime, lead_id)
    assert kind == "crm.conflict" and data["rule"] == "leadwire_wins" and data["crm_value"] == 5
    [row] = pending(runtime)
    assert row.fields == {"Leadwire_Score__c": 50}
    drain.drain(runtime, "salesforce")
    assert sandbox.state.leads[sf_id]["Leadwire_Score__c"] == 50
    poll(runtime)  # our corrective write is an echo in turn
    assert len(crm_events(runtime, lead_id)) == 1 and pending(runtime) == []


def test_newest_wins_takes_a_later_crm_edit(runtime, sandbox, synced, clock):
    lead_id, sf_id = synced_lead(runtime, synced)
    clock.advance(minutes=5)
    sandbox.salesforce_edit(sf_id, {"FirstName": "Patricia"})
    poll(runtime)
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).first_name == "Patricia"
    assert crm_events(runtime, lead_id)[0][1]["rule"] == "newest_wins"


def test_newest_wins_keeps_a_later_leadwire_change(runtime, sandbox, synced, clock):
    lead_id, sf_id = synced_lead(runtime, synced)
    sandbox.salesforce_edit(sf_id, {"FirstName": "Old"})
    with runtime.db.session() as s:  # Leadwire changed the lead after the CRM edit, before the poll
        row = s.get(Lead, lead_id)
        row.first_name, row.updated_at = "Patty", clock.now() + timedelta(minutes=1)
    poll(runtime)
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).first_name == "Patty"
    [(kind, data)] = crm_events(runtime, lead_id)
    assert kind == "crm.conflict" and data["rule"] == "newest_wins"
    assert [r.fields for r in pending(runtime)] == [{"FirstName": "Patty"}]


def test_crm_wins_takes_an_email_fix(runtime, sandbox, synced):
    lead_id, sf_id = synced_lead(runtime, synced)
    sandbox.salesforce_edit(sf_id, {"Email": "pat.lead@acme.example"})
    poll(runtime)
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).email == "pat.lead@acme.example"


def test_a_status_set_by_the_rep_counts_as_pursuit_feedback(runtime, sandbox, synced, rep, clock):
    lead_id, sf_id = synced_lead(runtime, synced, owner_rep_id=rep)
    clock.advance(hours=1)
    sandbox.salesforce_edit(sf_id, {"Status": "meeting_set"})
    poll(runtime)
    with runtime.db.session() as s:
        [response] = s.scalars(select(FeedbackResponse).where(FeedbackResponse.lead_id == lead_id)).all()
    assert (response.via, response.pursuit_status, response.level) == ("crm", "meeting_set", 2)
    assert not [r for r in pending(runtime) if "Status" in r.fields]  # feedback from the CRM is not echoed back


def test_the_poller_step_runs_when_enabled_and_moves_its_watermark(runtime, sandbox, synced, clock):
    from connector.jobs.tick import run_tick

    synced_lead(runtime, synced)
    assert run_tick(runtime)["events.poll_salesforce"] == 0  # off by default
    runtime.settings.env["SALESFORCE_POLL"] = "1"
    sandbox.set_faults(query_page_size=200)
    for i in range(210):
        sandbox.salesforce_edit(None, {"LastName": f"New{i}", "Company": "Acme", "Email": f"new{i}@acme.example"})
    before = sandbox.calls("query")
    clock.advance(minutes=2)
    assert run_tick(runtime)["events.poll_salesforce"] == 211  # the record at the watermark, then 210 new ones
    assert sandbox.calls("query") - before == 2  # one query, one nextRecordsUrl page
    with runtime.db.session() as s:  # records no lead matches are captured through the inbox, once each
        assert len(s.scalars(select(InboxItem).where(InboxItem.channel == "salesforce")).all()) == 210
    assert run_tick(runtime)["events.poll_salesforce"] == 0  # polled less than a minute ago
    clock.advance(minutes=2)
    # meanwhile each new lead's decision (nurture, score) was written back to its record: those writes of
    # Leadwire's own are read once, as echoes (nothing taken), and the watermark moves past them
    echoes = run_tick(runtime)["events.poll_salesforce"]
    with runtime.db.session() as s:
        assert not s.scalars(select(TimelineEvent).where(TimelineEvent.kind.in_(("crm.change", "crm.conflict")))).all()
    assert echoes > 1
    clock.advance(minutes=2)
    # only the records at the watermark: SOQL datetimes are whole seconds, so those of its second
    newest = max(lead["SystemModstamp"] for lead in sandbox.state.leads.values())
    at_watermark = sum(lead["SystemModstamp"][:19] == newest[:19] for lead in sandbox.state.leads.values())
    assert run_tick(runtime)["events.poll_salesforce"] == at_watermark < echoes


def captured_emails(runtime):
    with runtime.db.session() as s:
        return sorted(lead.email for lead in s.scalars(select(Lead)))


def test_the_hubspot_poller_starts_from_now_and_recovers_a_missed_webhook(runtime, sandbox, synced, clock):
    from connector.jobs.tick import run_tick

    lead_id, contact_id = synced("hubspot")
    sandbox.hubspot_edit(None, {"email": "old@acme.example", "firstname": "Old", "lastname": "One"})
    runtime.settings.env.update(HUBSPOT_POLL="1", HUBSPOT_POLL_SECONDS="120")
    clock.advance(minutes=1)
    assert run_tick(runtime)["events.poll_hubspot"] == 0  # the first poll starts now: the CRM's past is not read
    clock.advance(minutes=1)
    sandbox.hubspot_edit(None, {"email": "missed@acme.example", "firstname": "Mis", "lastname": "Sed"})
    sandbox.hubspot_edit(contact_id, {"company": "Acme Holdings"})  # changed in HubSpot, no webhook sent
    assert run_tick(runtime)["events.poll_hubspot"] == 0  # polled a minute ago (every 120 s)
    clock.advance(minutes=2)
    assert run_tick(runtime)["events.poll_hubspot"] == 2
    assert captured_emails(runtime) == ["lead0@example.com", "missed@acme.example"]
    with runtime.db.session() as s:
        assert s.get(Lead, lead_id).company == "Acme Holdings"  # crm_wins


def test_a_poll_since_date_reads_from_that_date_and_a_bad_one_is_named(runtime, sandbox, clock):
    sandbox.hubspot_edit(None, {"email": "earlier@acme.example", "firstname": "Ear", "lastname": "Lier"})
    clock.advance(days=2)
    runtime.settings.env["HUBSPOT_POLL_SINCE"] = "yesterday"
    with pytest.raises(ConfigError, match="HUBSPOT_POLL_SINCE='yesterday' is not an ISO date"):
        events.poll(runtime, "hubspot", clock.now())
    runtime.settings.env["HUBSPOT_POLL_SINCE"] = (clock.now() - timedelta(days=3)).date().isoformat()
    assert events.poll(runtime, "hubspot", clock.now()) == 1
    assert captured_emails(runtime) == ["earlier@acme.example"]


def test_the_salesforce_poller_starts_from_now(runtime, sandbox, clock):
    sandbox.salesforce_edit(None, {"LastName": "Old", "Company": "Acme", "Email": "old@acme.example"})
    clock.advance(minutes=1)
    assert poll(runtime) == 0
    sandbox.salesforce_edit(None, {"LastName": "New", "Company": "Acme", "Email": "new@acme.example"})
    assert poll(runtime) == 1
    assert captured_emails(runtime) == ["new@acme.example"]
