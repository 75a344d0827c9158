"""Decay in time: rescore_at from the decaying event points, and the tick step that re-decides due leads."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.capture import lifecycle
from connector.flows import load_spec
from connector.flows.decay import next_rescore
from connector.flows.model import EventRule, Scoring, Section
from connector.flows.scoring import Scorer
from connector.jobs.tick import STEPS, run_tick
from tests.support.lifecycle_touch import entries, example_reps, lead_of, outbox_of, submit
from tests.support.runtime import REPO

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHIPPED = load_spec(REPO / "flows.yaml").scorer
# a nurtured lead held at MQL 1 (score 21) only by a pricing page view (4 points, half-life 7 days)
ANALYST = {"role": "analyst", "employees": "30", "industry": "education", "product_interest": None,
           "events": [{"type": "pricing_viewed"}]}


def _at(days: float = 0) -> str:
    return (NOW - timedelta(days=days)).isoformat()


# ---- when to score again (pure) ---------------------------------------------------------------

def test_nothing_decays_without_timed_decaying_events():
    assert next_rescore(SHIPPED, {}, NOW) is None
    assert next_rescore(SHIPPED, {"events": [{"type": "demo_attended", "at": _at()}]}, NOW) is None  # no half-life
    assert next_rescore(SHIPPED, {"events": [{"type": "webinar_attended", "at": None}]}, NOW) is None  # no time


def test_a_decaying_event_asks_again_a_quarter_of_its_half_life_later():
    events = [{"type": "webinar_attended", "at": _at(3)}, {"type": "pricing_viewed", "at": _at(1)}]
    assert next_rescore(SHIPPED, {"events": events}, NOW) == NOW + timedelta(days=7) / 4  # the shortest: pricing


def test_an_event_worth_less_than_half_a_point_asks_nothing():
    # webinar: 5 points x 2.4 score points each = 12, halved every 30 days: below 0.5 after ~138 days
    assert next_rescore(SHIPPED, {"events": [{"type": "webinar_attended", "at": _at(130)}]}, NOW) is not None
    assert next_rescore(SHIPPED, {"events": [{"type": "webinar_attended", "at": _at(140)}]}, NOW) is None


def test_an_event_counted_within_a_window_asks_again_when_it_leaves_it():
    scorer = Scorer(Scoring((Section("behavioural", 100.0, (), (EventRule("visit", 5, within=timedelta(days=10)),),
                                     100.0),), (20, 45, 70)))
    rescore = next_rescore(scorer, {"events": [{"type": "visit", "at": _at(4)}]}, NOW)
    assert rescore == NOW + timedelta(days=6, seconds=1)
    assert next_rescore(scorer, {"events": [{"type": "visit", "at": _at(11)}]}, NOW) is None  # already out


# ---- the tick step ------------------------------------------------------------------------------

def _tick_until(rt, clock, lead_id, kind, runs=20):
    """Move the clock to the lead's rescore_at and run the tick until its timeline has `kind`; returns runs."""
    for n in range(1, runs + 1):
        due = lead_of(rt, lead_id).rescore_at
        assert due is not None, "the lead stopped asking to be rescored"
        clock.set(due)
        assert run_tick(rt)["capture.rescore_due"] == 1
        if entries(rt, lead_id, kind):
            return n
    pytest.fail(f"no {kind} after {runs} runs")


def test_the_step_is_registered_in_the_tick():
    assert STEPS["capture.rescore_due"] is lifecycle.rescore_due


def test_decay_demotes_a_nurtured_lead_below_mql_1(runtime, clock):
    lead_id = submit(runtime, "newsletter", **ANALYST)
    lead = lead_of(runtime, lead_id)
    assert (lead.status, lead.score, lead.mql_level) == ("nurture", 21, 1)
    assert lead.rescore_at == clock.now() + timedelta(days=7) / 4
    captured = clock.now()
    runs = _tick_until(runtime, clock, lead_id, "demoted")
    assert runs == 2 and clock.now() - captured == timedelta(days=3.5)  # seen within a quarter half-life
    [demoted] = entries(runtime, lead_id, "demoted")
    assert demoted.message == "demoted: MQL 1 → none (decay)"
    lead = lead_of(runtime, lead_id)
    assert (lead.status, lead.mql_level, lead.score) == ("nurture", None, 19)  # still nurtured, recorded
    assert lead.rescore_at == clock.now() + timedelta(days=7) / 4 and lead.decided_with == runtime.spec.hash
    assert outbox_of(runtime, lead_id)[-1][1]["leadwire_mql_level"] is None  # written back to HubSpot


def test_decay_demotes_a_routed_lead_but_keeps_its_routing(runtime, clock):
    example_reps(runtime)
    lead_id = submit(runtime, "newsletter", events=[{"type": "webinar_attended"}])
    lead = lead_of(runtime, lead_id)
    assert (lead.flow, lead.mql_level, lead.score) == ("qualified", 2, 54) and lead.status == "offered"
    clock.advance(hours=2)
    run_tick(runtime)  # the offers run their course meanwhile
    status = lead_of(runtime, lead_id).status
    _tick_until(runtime, clock, lead_id, "demoted")
    lead = lead_of(runtime, lead_id)
    assert lead.mql_level == 1 and lead.status == status and lead.flow == "qualified"  # never un-routed
    [demoted] = entries(runtime, lead_id, "demoted")
    assert demoted.message == f"demoted: MQL 2 → 1 (decay); still {status} (the engine now says nurture)"


def test_the_step_is_bounded_and_safe_to_run_twice(runtime, clock, monkeypatch):
    monkeypatch.setattr(lifecycle, "BATCH", 2)
    ids = [submit(runtime, "newsletter", **{**ANALYST, "email": f"pat{i}@school{i}.example", "last_name": f"P{i}",
                                           "company": f"School {i}", "website": None, "phone": f"+1 617 555 01{i:02d}"})
           for i in range(3)]
    clock.set(lead_of(runtime, ids[0]).rescore_at)
    now = clock.now()
    assert [lifecycle.rescore_due(runtime, now) for _ in range(3)] == [2, 1, 0]
    assert all(lead_of(runtime, i).rescore_at > now for i in ids)
