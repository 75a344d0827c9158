"""`leadwire replay`: a change of flows.yaml replayed against the stored leads no rep has taken. The dry run
lists exactly the leads decided differently and changes nothing; --apply decides them again (through
capture/lifecycle.redecide), records the flows hash, and leaves accepted and closed leads alone."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from connector.capture import replay as replay_uc
from connector.cli import cli
from connector.flows import load_spec
from connector.routing import offers as offers_uc
from connector.store.statuses import LeadStatus
from tests.support import lifecycle_actions as h

NOW = "2026-01-08T09:00:00Z"


@pytest.fixture
def rt(make_runtime, db_url):
    runtime = make_runtime(db_url, LEADWIRE_FLOWS=str(h.FLOWS))
    h.add_reps(runtime)
    return runtime


@pytest.fixture
def leads(rt):
    """Leads under the test flows, named for what actions_variant.yaml does to them."""
    ids = {"same": h.capture(rt, "direct", "same@acme.example", product="insight"),      # MQL 2 either way
           "to_nurture": h.capture(rt, "shift", "shift@acme.example"),                   # routed -> nurture
           "to_emea": h.capture(rt, "team", "team@acme.example"),                        # team na -> emea
           "to_routing": h.capture(rt, "grow", "grow@acme.example"),                     # nurture -> routed
           "mql_down": h.capture(rt, "direct", "mql@acme.example", product="sentinel"),  # MQL 1 -> none
           "accepted": h.capture(rt, "shift", "taken@acme.example"),
           "won": h.capture(rt, "grow", "won@acme.example")}
    [offer] = h.offers(rt, ids["accepted"])
    assert offers_uc.accept(rt, offer.id).status == "accepted"
    h.close(rt, ids["won"], LeadStatus.WON, amount=100.0)
    rt.clock.advance(days=2)
    ids["late"] = h.capture(rt, "grow", "late@acme.example")  # captured 2026-01-07
    return ids


def _replay(db_url, *args):
    return CliRunner().invoke(cli, ["replay", "--now", NOW, *args], env=h.env(db_url))


def _listed(output: str) -> list[int]:
    """The lead ids in the first column of the printed table."""
    return [int(m) for m in re.findall(r"^│\s*(\d+)\s*│", output, flags=re.M)]


def _changed(ids):
    return sorted(ids[k] for k in ("to_nurture", "to_emea", "to_routing", "mql_down", "late"))


def test_dry_run_lists_exactly_the_leads_decided_differently_and_changes_nothing(rt, leads, db_url):
    before = h.snapshot(rt)
    done = _replay(db_url, "--flows", str(h.VARIANT))
    assert done.exit_code == 0, done.output
    assert _listed(done.output) == _changed(leads)
    variant = load_spec(h.VARIANT)
    assert (f"5 of 6 leads would be decided differently under {variant.file} ({variant.hash}); dry run, nothing "
            "changed (--apply carries it out)") in done.output
    row = next(line for line in done.output.splitlines() if re.match(rf"^│\s*{leads['to_routing']}\s*│", line))
    assert "nurture (0, no MQL) mainline" in row and "routed (0, no MQL) → na" in row
    assert h.snapshot(rt) == before


def test_dry_run_under_the_current_flows_finds_nothing_to_change(rt, leads, db_url):
    done = _replay(db_url)
    assert done.exit_code == 0, done.output
    assert _listed(done.output) == []
    assert f"0 of 6 leads would be decided differently under {rt.spec.file} ({rt.spec.hash})" in done.output


def test_since_filters_by_capture_date(rt, leads, db_url):
    done = _replay(db_url, "--flows", str(h.VARIANT), "--since", "2026-01-06")
    assert done.exit_code == 0, done.output
    assert _listed(done.output) == [leads["late"]]
    assert "1 of 1 leads captured since 2026-01-06 00:00 UTC would be decided differently" in done.output
    bad = _replay(db_url, "--since", "last week")
    assert bad.exit_code == 2 and "'last week' is not a date like 2026-01-05" in bad.output


def test_apply_decides_the_changed_leads_again_records_the_hash_and_leaves_taken_leads_alone(rt, leads, db_url):
    old, variant = rt.spec.hash, load_spec(h.VARIANT).hash
    done = _replay(db_url, "--flows", str(h.VARIANT), "--apply", "--by", "ops")
    assert done.exit_code == 0, done.output
    assert _listed(done.output) == _changed(leads)
    assert re.search(r"5 of 6 leads decided again under .*: 1 demoted, 2 promoted, 2 unchanged", done.output), \
        done.output

    routed = h.lead(rt, leads["to_routing"])
    assert (routed.status, routed.outcome, routed.flow, routed.team) == ("offered", "routed", "direct", "na")
    assert h.offers(rt, leads["to_routing"]), "a promoted lead is offered as a new one would be"
    assert h.lead(rt, leads["mql_down"]).mql_level is None
    for key in ("to_nurture", "to_emea", "to_routing", "mql_down", "late"):
        assert h.lead(rt, leads[key]).decided_with == variant, key
        [event] = h.events(rt, leads[key], "replayed")
        assert f"(flows hash {variant}) by ops" in event.message
        assert event.data["flows_hash"] == variant and event.data["by"] == "ops"
    for key in ("same", "accepted", "won"):  # unchanged, taken by a rep, closed: not decided again
        assert h.lead(rt, leads[key]).decided_with == old, key
        assert h.events(rt, leads[key], "replayed") == []
    taken = h.lead(rt, leads["accepted"])
    assert (taken.status, taken.outcome, taken.flow) == ("accepted", "routed", "direct")
    assert h.lead(rt, leads["won"]).status == LeadStatus.WON


def test_a_bad_flows_file_prints_its_problems_and_exits_1(rt, leads, db_url, tmp_path):
    bad = tmp_path / "flows.yaml"
    bad.write_text("version: 1\nsources: {}\nflows:\n  - name: x\n    when: {campaign: [a]}\n    qualify: nope\n")
    before = h.snapshot(rt)
    done = _replay(db_url, "--flows", str(bad), "--apply")
    assert done.exit_code == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+: ", done.output), done.output
    assert re.search(r"\d+ problems? found", done.output)
    assert h.snapshot(rt) == before


def test_pages_are_read_by_id_and_a_lead_taken_meanwhile_is_left_alone(rt, leads):
    variant = load_spec(h.VARIANT)
    now = datetime(2026, 1, 8, 9, tzinfo=UTC)
    small = [(r.lead_id, r.changed) for r in replay_uc.replay(rt, variant, now, batch=2)]
    assert small == [(r.lead_id, r.changed) for r in replay_uc.replay(rt, variant, now)]
    assert [lead_id for lead_id, changed in small if changed] == _changed(leads)
    assert replay_uc.count(rt) == len(small) == 6

    run = replay_uc.replay(rt, variant, now, apply=True, by="ops", batch=10)
    assert next(run).lead_id == leads["same"]  # the page is read; now a rep takes the next lead
    h.set_status(rt, leads["to_nurture"], LeadStatus.ACCEPTED)
    skipped = next(run)
    assert (skipped.lead_id, skipped.applied) == (leads["to_nurture"], "skipped: accepted")
    assert h.events(rt, leads["to_nurture"], "replayed") == []
    assert [r.applied for r in run] == ["unchanged", "promoted", "demoted", "promoted"]
