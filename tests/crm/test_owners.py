"""A lead's owner kept the same in HubSpot and Salesforce by the flow's system of record for the owner."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from connector.core.errors import ConfigError
from connector.flows import load_spec
from connector.store import writeback
from connector.store.models import Lead, OutboxItem, Rep, TimelineEvent
from connector.sync import drain, events
from tests.crm.test_hooks import send
from tests.support.runtime import REPO


@pytest.fixture
def both(runtime, make_leads, rep, sandbox, clock):
    """Salesforce is the owner's system of record; a lead owned by Rita in both CRMs, both baselines read."""
    runtime.spec = dataclasses.replace(runtime.spec, flows=tuple(
        dataclasses.replace(f, crm=dataclasses.replace(f.crm, system_of_record={"owner": "salesforce"}))
        for f in runtime.spec.flows))
    (lead_id,) = make_leads(1, owner_rep_id=rep)
    with runtime.db.session() as s:
        writeback.enqueue_lead_write(s, runtime, s.get(Lead, lead_id))
    for crm in ("hubspot", "salesforce"):
        drain.drain(runtime, crm)
    events.poll(runtime, "salesforce", clock.now())  # the echoes of our writes: Leadwire's baselines
    events.poll(runtime, "hubspot", clock.now())
    omar_hs, omar_sf = sandbox.state.add_owner("omar@example.com", "Omar"), sandbox.state.add_user("omar@example.com")
    with runtime.db.session() as s:
        s.add(Rep(email="omar@example.com", name="Omar", created_at=clock.now(), hubspot_owner_id=omar_hs["id"],
                  salesforce_user_id=omar_sf["Id"]))
        lead = s.get(Lead, lead_id)
        return lead_id, lead.hubspot_id, lead.salesforce_id, omar_hs["id"], omar_sf["Id"]


def owner_name(runtime, lead_id):
    with runtime.db.session() as s:
        return s.get(Rep, s.get(Lead, lead_id).owner_rep_id).name


def test_an_owner_change_in_the_system_of_record_is_applied_and_written_to_the_other_crm(runtime, sandbox, both,
                                                                                           clock):
    lead_id, contact_id, sf_id, omar_hs, omar_sf = both
    clock.advance(minutes=5)
    sandbox.salesforce_edit(sf_id, {"OwnerId": omar_sf})
    events.poll(runtime, "salesforce", clock.now())
    assert owner_name(runtime, lead_id) == "Omar"
    drain.drain(runtime, "hubspot")
    assert sandbox.state.contacts[contact_id]["properties"]["hubspot_owner_id"] == omar_hs
    with runtime.db.session() as s:
        [change] = s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "crm.change")).all()
    assert "salesforce is the owner's system of record" in change.message and "written to hubspot" in change.message


def test_an_owner_change_in_the_other_crm_is_written_back_over(runtime, sandbox, live_server, both, clock, rep):
    lead_id, contact_id, sf_id, omar_hs, omar_sf = both
    clock.advance(minutes=5)
    sandbox.hubspot_edit(contact_id, {"hubspot_owner_id": omar_hs})
    event = sandbox.contact_event(contact_id, property_name="hubspot_owner_id", property_value=omar_hs)
    assert send(sandbox, live_server, [event], clock).status_code == 200
    assert owner_name(runtime, lead_id) == "Rita Rep"
    with runtime.db.session() as s:
        [conflict] = s.scalars(select(TimelineEvent).where(TimelineEvent.kind == "crm.conflict")).all()
        assert conflict.data["system_of_record"] == "salesforce"
        assert "Leadwire's value kept (salesforce is the owner's system of record)" in conflict.message
        assert not s.scalars(select(OutboxItem).where(OutboxItem.crm == "salesforce",
                                                      OutboxItem.status == "pending")).all()
    drain.drain(runtime, "hubspot")
    with runtime.db.session() as s:
        rita = s.get(Rep, rep)
    assert sandbox.state.contacts[contact_id]["properties"]["hubspot_owner_id"] == rita.hubspot_owner_id


def test_the_system_of_record_is_validated_with_its_line(tmp_path):
    text = (REPO / "flows.yaml").read_text().replace(
        "  account:                                  # one owner per company",
        "  crm:\n    system_of_record: {owner: salesforse, stage: hubspot}\n"
        "  account:                                  # one owner per company", 1)
    (tmp_path / "flows.yaml").write_text(text)
    (tmp_path / "mappings").symlink_to(REPO / "mappings")
    with pytest.raises(ConfigError) as raised:
        load_spec(tmp_path / "flows.yaml")
    line = text.splitlines().index("    system_of_record: {owner: salesforse, stage: hubspot}") + 1
    message = str(raised.value)
    assert f"flows.yaml:{line}: crm.system_of_record.owner must be one of hubspot, salesforce, not 'salesforse' " \
           '(did you mean "salesforce"?)' in message
    assert f"flows.yaml:{line}: crm.system_of_record: 'stage' cannot have a system of record" in message


def test_a_system_of_record_in_the_defaults_reaches_every_flow(tmp_path):
    text = (REPO / "flows.yaml").read_text().replace(
        "  account:                                  # one owner per company",
        "  crm:\n    system_of_record: {owner: salesforce}\n"
        "  account:                                  # one owner per company", 1)
    (tmp_path / "flows.yaml").write_text(text)
    (tmp_path / "mappings").symlink_to(REPO / "mappings")
    spec = load_spec(tmp_path / "flows.yaml")
    assert spec.flow("qualified").crm.system_of_record == {"owner": "salesforce"}
    assert spec.flow("qualified").crm.hubspot is not None  # the flow's own crm keys kept
