"""Outside working hours in the pure engine: a rep's next working start in their own time zone (weekends,
days off, split days, daylight saving), and the plan's hold / offer_anyway / escalate."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.flows import Context, InMemoryIndex, RepView, decide, map_payload
from connector.flows.after_hours import hold_for
from connector.flows.routing_strategies import local_label, next_working_start, starts_day
from tests.flows.helpers import BASE, FLOWS, NOW, spec

WEEKDAYS = {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
SPLIT = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
HOT = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@acme.com", "phone": "+1 415 555 0132",
       "company": "Acme Inc", "country": "US", "role": "executive", "employees": 5000, "form": "demo_request"}


def rep(tz="Europe/Berlin", hours=WEEKDAYS, **kw) -> RepView:
    return RepView(kw.pop("id", 1), "r@x.com", kw.pop("name", "Jo Rep"), team="na", timezone=tz,
                   working_hours=hours, **kw)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("tz, hours, now, expected", [
    ("Europe/Berlin", WEEKDAYS, utc(2026, 1, 5, 21, 0), utc(2026, 1, 6, 8, 0)),       # Mon 22:00 → Tue 09:00 CET
    ("Europe/Berlin", WEEKDAYS, utc(2026, 1, 5, 7, 0), utc(2026, 1, 5, 8, 0)),        # Mon 08:00 → 09:00 today
    ("Europe/Berlin", WEEKDAYS, utc(2026, 1, 9, 17, 30), utc(2026, 1, 12, 8, 0)),     # Fri 18:30 → Mon 09:00
    ("Europe/Berlin", WEEKDAYS, utc(2026, 1, 10, 12, 0), utc(2026, 1, 12, 8, 0)),     # Saturday → Monday
    ("Europe/Berlin", WEEKDAYS, utc(2026, 3, 27, 17, 0), utc(2026, 3, 30, 7, 0)),     # over the switch to CEST
    ("America/New_York", WEEKDAYS, utc(2026, 1, 5, 12, 0), utc(2026, 1, 5, 14, 0)),   # 07:00 EST → 09:00 EST
    ("America/New_York", WEEKDAYS, utc(2026, 1, 10, 2, 0), utc(2026, 1, 12, 14, 0)),  # Fri 21:00 EST → Monday
    ("Asia/Tokyo", WEEKDAYS, utc(2026, 1, 5, 10, 0), utc(2026, 1, 6, 0, 0)),          # Mon 19:00 JST → Tue 09:00
    ("Asia/Tokyo", WEEKDAYS, utc(2026, 1, 9, 9, 0), utc(2026, 1, 12, 0, 0)),          # Fri 18:00 JST → Mon 09:00
    ("Europe/Berlin", SPLIT, utc(2026, 1, 5, 11, 30), utc(2026, 1, 5, 12, 0)),        # lunch → 13:00
    ("Europe/Berlin", SPLIT, utc(2026, 1, 5, 17, 0), utc(2026, 1, 12, 8, 0)),         # only Mondays → next week
    ("Mars/Olympus", WEEKDAYS, utc(2026, 1, 5, 20, 0), utc(2026, 1, 6, 9, 0)),        # unknown zone: UTC
])
def test_next_working_start_is_found_on_the_reps_own_wall_clock(tz, hours, now, expected):
    assert next_working_start(rep(tz, hours), now) == expected


def test_a_rep_at_work_or_without_hours_starts_now_and_one_without_a_working_day_never():
    monday_10_berlin = utc(2026, 1, 5, 9, 0)
    assert next_working_start(rep(), monday_10_berlin) == monday_10_berlin
    assert next_working_start(rep(hours=None), utc(2026, 1, 10, 3, 0)) == utc(2026, 1, 10, 3, 0)
    assert next_working_start(rep(hours={"mon": ["09:00", "09:00"]}), monday_10_berlin) is None


def test_the_hold_names_the_first_rep_to_start_and_whether_their_day_starts():
    berlin, tokyo = rep(id=1), rep("Asia/Tokyo", id=2, name="Kei")
    hold = hold_for([berlin, tokyo], utc(2026, 1, 5, 21, 0))
    assert (hold.until, hold.rep_id) == (utc(2026, 1, 6, 0, 0), 2)
    assert hold.note == "held until 2026-01-06 09:00 Asia/Tokyo (Kei's day starts)"
    lunch = hold_for([rep(hours=SPLIT)], utc(2026, 1, 5, 11, 30))
    assert lunch.note == "held until 2026-01-05 13:00 Europe/Berlin (Jo Rep's working hours resume)"
    assert starts_day(rep(hours=SPLIT), utc(2026, 1, 5, 8, 0)) and not starts_day(rep(hours=SPLIT), lunch.until)
    assert local_label(utc(2026, 7, 1, 7, 0), "Europe/Berlin") == "2026-07-01 09:00 Europe/Berlin"
    assert hold_for([rep(hours={"mon": ["09:00", "09:00"]})], NOW) is None


def _decide(tmp_path, outside_hours: str, reps, *, filters="territory, capacity, working_hours", extra=""):
    flows = FLOWS.replace("      filters: [territory, capacity]",
                          f"      filters: [{filters}]{extra}\n    offer: {{outside_hours: {outside_hours}}}")
    loaded = spec(tmp_path, BASE + flows)
    return decide(loaded, map_payload(loaded, "web", HOT), Context(NOW, InMemoryIndex(), list(reps)))


TOKYO_ASLEEP = [rep("Asia/Tokyo", id=1, name="Kei"), rep("Asia/Tokyo", id=2, name="Yui")]  # NOW is 00:00 JST


def test_hold_keeps_nobody_and_holds_until_the_first_start(tmp_path):
    decision = _decide(tmp_path, "hold", TOKYO_ASLEEP)
    plan = decision.plan
    assert plan.kept == [] and plan.hold_until == NOW + timedelta(hours=9)
    assert plan.hold_note == "held until 2026-03-03 09:00 Asia/Tokyo (Kei's day starts)"
    assert any("nobody eligible is working now; held until" in r for r in decision.reasons)
    assert decision.as_dict()["plan"]["hold_until"] == plan.hold_until.isoformat()


def test_offer_anyway_keeps_the_waiting_reps_in_order(tmp_path):
    plan = _decide(tmp_path, "offer_anyway", TOKYO_ASLEEP).plan
    assert plan.kept == [1, 2] and plan.hold_until is None
    assert all(c.reason.endswith("outside working hours, offered anyway") for c in plan.candidates)


def test_escalate_keeps_nobody_and_holds_nothing(tmp_path):
    decision = _decide(tmp_path, "escalate", TOKYO_ASLEEP)
    assert decision.plan.kept == [] and decision.plan.hold_until is None
    assert any("outside_hours: escalate" in r for r in decision.reasons)


def test_no_hold_when_hours_are_not_the_only_obstacle(tmp_path):
    full = [rep("Asia/Tokyo", id=1, open_offers=5, max_open_offers=5)]
    decision = _decide(tmp_path, "hold", full)
    assert decision.plan.kept == [] and decision.plan.hold_until is None
    assert not any("held until" in r for r in decision.reasons)


def test_a_working_rep_or_allowed_hours_need_no_hold(tmp_path):
    awake = [*TOKYO_ASLEEP, rep("America/New_York", id=3, name="Ny")]        # 10:00 in New York
    assert _decide(tmp_path, "hold", awake).plan.kept == [3]
    allowed = _decide(tmp_path, "hold", TOKYO_ASLEEP, extra="\n      allow_outside_hours: true").plan
    assert allowed.kept == [1, 2] and allowed.hold_until is None
    unfiltered = _decide(tmp_path, "hold", TOKYO_ASLEEP, filters="territory, capacity").plan
    assert unfiltered.kept == [1, 2]
