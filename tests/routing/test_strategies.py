"""Routing strategies as pure tables: eligibility rules, territory, product, and each chooser."""
from datetime import UTC, datetime

import pytest

from connector.flows.routing import RepView
from connector.flows.routing_strategies import (
    exclusion_reason,
    haversine_km,
    in_working_hours,
    rank,
    rotate,
    smooth_weighted,
    territory_reason,
)

MON_10_UTC = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday
WEEKDAYS = {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def rep(rid=1, **kw) -> RepView:
    return RepView(id=rid, email=f"r{rid}@x.example", name=f"R{rid}", **kw)


@pytest.mark.parametrize("tz, now, expected", [
    ("UTC", MON_10_UTC, True),
    ("America/New_York", MON_10_UTC, False),        # 05:00 in New York
    ("America/New_York", MON_10_UTC.replace(hour=14), True),
    ("Asia/Tokyo", MON_10_UTC, False),              # 19:00 in Tokyo
    ("Asia/Tokyo", MON_10_UTC.replace(hour=1), True),
    ("Europe/Berlin", datetime(2026, 1, 10, 10, tzinfo=UTC), False),  # Saturday
    ("Europe/Berlin", MON_10_UTC.replace(hour=15, minute=59), True),           # 16:59 local
    ("Europe/Berlin", MON_10_UTC.replace(hour=16), False),                     # 17:00 local: closed
])
def test_working_hours_are_read_in_the_reps_own_time_zone(tz, now, expected):
    assert in_working_hours(rep(timezone=tz, working_hours=WEEKDAYS), now) is expected


def test_no_working_hours_means_always_available():
    assert in_working_hours(rep(working_hours=None), MON_10_UTC.replace(hour=3))


@pytest.mark.parametrize("changes, filters, reason", [
    ({}, ("territory", "product", "capacity", "absence", "working_hours"), None),
    ({"active": False}, (), "inactive"),
    ({"absent_from": datetime(2026, 1, 1, tzinfo=UTC), "absent_until": datetime(2026, 1, 9, tzinfo=UTC)},
     ("absence",), "absent until 2026-01-09"),
    ({"absent_from": datetime(2026, 1, 1, tzinfo=UTC), "absent_until": datetime(2026, 1, 5, 9, tzinfo=UTC)},
     ("absence",), None),                                                      # back since 09:00
    ({"absent_from": datetime(2026, 1, 6, tzinfo=UTC)}, ("absence",), None),   # leaves tomorrow
    ({"absent_from": datetime(2026, 1, 1, tzinfo=UTC)}, (), None),  # absence filter not asked for
    ({"open_offers": 5, "max_open_offers": 5}, ("capacity",), "at capacity: 5 open offers"),
    ({"open_leads": 50}, ("capacity",), "at capacity: 50 open leads"),
    ({"open_leads": 49}, ("capacity",), None),
    ({"timezone": "Asia/Tokyo", "working_hours": WEEKDAYS}, ("working_hours",), "outside working hours (Asia/Tokyo)"),
    ({"countries": ("DE",)}, ("territory",), "outside territory"),
    ({"products": ("sentinel",)}, ("product",), "does not sell insight"),
    ({"products": ("sentinel", "insight")}, ("product",), None),
])
def test_eligibility_rules(changes, filters, reason):
    lead = {"country": "US", "region": "US-CA", "postal_code": "94107", "product": "insight"}
    got = exclusion_reason(rep(**changes), lead, MON_10_UTC, filters)
    assert (got is None) if reason is None else (got is not None and got.startswith(reason))


def test_outside_hours_can_be_allowed_by_the_flow():
    tokyo = rep(timezone="Asia/Tokyo", working_hours=WEEKDAYS)
    assert exclusion_reason(tokyo, {}, MON_10_UTC, ("working_hours",), allow_outside_hours=True) is None


SF = (37.7749, -122.4194)
OAKLAND = (37.8044, -122.2712)
LA = (34.0522, -118.2437)


@pytest.mark.parametrize("territory, lead, covered", [
    ({}, {"country": "JP"}, True),                                        # no territory: covers all
    ({"countries": ("US", "CA")}, {"country": "CA"}, True),
    ({"countries": ("US",)}, {"country": "MX"}, False),
    ({"regions": ("US-CA",)}, {"country": "US", "region": "US-CA"}, True),
    ({"regions": ("US-CA",)}, {"country": "US", "region": "US-NY"}, False),
    ({"postal_prefixes": ("94",)}, {"country": "US", "postal_code": "94107"}, True),
    ({"postal_prefixes": ("US:94",)}, {"country": "DE", "postal_code": "94032"}, False),  # Passau, not SF
    ({"postal_prefixes": ("GB:SW1",)}, {"country": "GB", "postal_code": "SW1A 1AA"}, True),
    ({"latitude": SF[0], "longitude": SF[1], "radius_km": 50}, {"latitude": OAKLAND[0], "longitude": OAKLAND[1]}, True),
    ({"latitude": SF[0], "longitude": SF[1], "radius_km": 50}, {"latitude": LA[0], "longitude": LA[1]}, False),
    ({"countries": ("DE",)}, {}, True),                                   # lead without geography passes
])
def test_territory(territory, lead, covered):
    assert (territory_reason(rep(**territory), lead) is None) is covered


def test_haversine_matches_a_known_distance():
    assert haversine_km(*SF, *LA) == pytest.approx(559, abs=3)


def _ids(ranked):
    return [r.rep_id for r in ranked if r.kept]


def test_nearest_orders_by_distance_when_the_lead_has_a_location():
    reps = [rep(1, latitude=LA[0], longitude=LA[1]), rep(2, latitude=OAKLAND[0], longitude=OAKLAND[1]),
            rep(3)]
    ranked = rank(reps, {"latitude": SF[0], "longitude": SF[1]}, MON_10_UTC, filters=(), chooser="nearest")
    assert _ids(ranked) == [2, 1, 3]
    assert ranked[0].reason.endswith("km away")


def test_nearest_falls_back_to_region_then_country_without_a_location():
    reps = [rep(1, countries=("US",)), rep(2, regions=("US-NY",)), rep(3, regions=("US-CA",)), rep(4, countries=("DE",))]
    ranked = rank(reps, {"country": "US", "region": "US-CA"}, MON_10_UTC, filters=(), chooser="nearest")
    assert _ids(ranked) == [3, 1, 2, 4]


def test_performance_ranks_by_acceptance_and_win_rate_with_newcomers_in_the_middle():
    reps = [rep(1, acceptance_rate=0.2, win_rate=0.1), rep(2, acceptance_rate=0.9, win_rate=0.6), rep(3)]
    assert _ids(rank(reps, {}, MON_10_UTC, filters=(), chooser="performance")) == [2, 3, 1]


def test_preferred_partners_come_first_and_the_account_owner_before_them():
    reps = [rep(1), rep(2, preferred=True), rep(3), rep(4, preferred=True)]
    assert _ids(rank(reps, {}, MON_10_UTC, filters=("preferred",), chooser="round_robin")) == [2, 4, 1, 3]
    ranked = rank(reps, {}, MON_10_UTC, filters=("preferred", "account_owner"), chooser="round_robin",
                  account_owner_id=3)
    assert _ids(ranked) == [3, 2, 4, 1] and ranked[0].reason == "account owner"


def test_an_ineligible_account_owner_is_passed_over_with_the_reason():
    reps = [rep(1), rep(2, active=False)]
    ranked = rank(reps, {}, MON_10_UTC, filters=("account_owner",), chooser="round_robin", account_owner_id=2)
    assert _ids(ranked) == [1]
    assert [(r.rep_id, r.reason) for r in ranked if not r.kept] == [(2, "account owner, but inactive")]


def test_passed_over_reps_carry_their_reasons():
    reps = [rep(1, countries=("DE",)), rep(2, products=("sentinel",)), rep(3)]
    ranked = rank(reps, {"country": "US", "product": "insight"}, MON_10_UTC,
                  filters=("territory", "product"), chooser="round_robin")
    assert _ids(ranked) == [3]
    assert {r.rep_id: r.reason.split(":")[0] for r in ranked if not r.kept} == {1: "outside territory",
                                                                                 2: "does not sell insight (sells sentinel)"}


@pytest.mark.parametrize("ids, last, expected", [
    ([3, 1, 2], None, [1, 2, 3]),
    ([1, 2, 3], 1, [2, 3, 1]),
    ([1, 2, 3], 3, [1, 2, 3]),
    ([1, 5, 9], 6, [9, 1, 5]),       # the last pick left the pool: continue after its place
])
def test_round_robin_rotation(ids, last, expected):
    assert rotate(ids, last) == expected


def test_smooth_weighted_round_robin_spreads_picks_in_proportion_to_weight():
    state, picks = {}, []
    for _ in range(12):
        chosen, state = smooth_weighted({1: 3.0, 2: 2.0, 3: 1.0}, state)
        picks.append(chosen)
    assert [picks.count(i) for i in (1, 2, 3)] == [6, 4, 2]
    assert picks[:6] == [1, 2, 1, 3, 2, 1]          # interleaved, not in bursts


def test_rep_index_narrows_to_matching_territory_and_product():
    from connector.flows.rep_index import RepIndex

    reps = [rep(1, team="a", countries=("US",)), rep(2, team="a", countries=("DE",)),
            rep(3, team="a", postal_prefixes=("US:94",)), rep(4, team="a"),
            rep(5, team="a", latitude=SF[0], longitude=SF[1], radius_km=30), rep(6, team="a", countries=("US",),
                                                                                products=("sentinel",))]
    index = RepIndex(reps)
    lead = {"country": "US", "postal_code": "94107", "latitude": OAKLAND[0], "longitude": OAKLAND[1],
            "product": "insight"}
    assert [r.id for r in index.candidates(lead, team="a")] == [1, 3, 4, 5]
    assert [r.id for r in index.candidates({"country": "DE"}, team="a", product=False)] == [2, 4]
    exact = [r.rep_id for r in rank(index.candidates(lead, team="a"), lead, MON_10_UTC,
                                    filters=("territory", "product"), chooser="round_robin") if r.kept]
    assert exact == [r.rep_id for r in rank(reps, lead, MON_10_UTC, filters=("territory", "product"),
                                            chooser="round_robin") if r.kept]
