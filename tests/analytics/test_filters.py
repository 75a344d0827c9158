"""Every filter narrows the measures as a RevOps person would expect (seeded data, figures by hand)."""
from __future__ import annotations

from datetime import date

import pytest

from connector.analytics import Filters, InvalidFilter, run
from tests.analytics.seed import seed


@pytest.fixture
def data(db):
    return seed(db)


def captured(db, **filters) -> int:
    return run(db, "captured", Filters(**filters)).summary["leads"]


def test_each_filter_selects_its_leads(db, data):
    assert captured(db) == 12
    assert captured(db, source="hubspot") == 3                              # L5 L6 L7
    assert captured(db, campaign="fall") == 3                               # L5 L6 L7
    assert captured(db, flow="partner") == 2                                # L5 L6
    assert captured(db, team="na") == 2                                     # L5 L6
    assert captured(db, start=date(2026, 1, 6), end=date(2026, 1, 7)) == 5  # L3 .. L7, both days inclusive
    assert captured(db, start=date(2026, 1, 9)) == 2                        # L11 L12
    assert captured(db, rep=data["ana"]) == 2                               # owned: L1 L2
    assert captured(db, partner="Acme Partners") == 2                       # owned by Ben (L3) and Cy (L5)
    assert captured(db, source="web", team="emea", start=date(2026, 1, 6)) == 4  # L3 L4 L10 L12


def test_offer_filters_apply_to_the_rep_each_offer_went_to(db, data):
    table = run(db, "offer_rates", Filters(partner="Acme Partners"))
    # Ben o1 declined, o5 accepted, o7 expired, o9 lost; Cy o8 accepted, o10 pending -> settled 5
    assert {r["status"]: r["offers"] for r in table.rows if r["offers"]} == {
        "accepted": 2, "declined": 1, "expired": 1, "lost": 1, "pending": 1}
    assert table.summary["acceptance_rate"] == round(2 / 5, 4)


def test_leaderboards_follow_the_people_filters(db, data):
    assert [r["name"] for r in run(db, "reps", Filters(partner="Acme Partners")).rows] == ["Cy Cedar", "Ben Birch"]
    assert [r["name"] for r in run(db, "reps", Filters(rep=data["ben"])).rows] == ["Ben Birch"]
    assert run(db, "partners", Filters(rep=data["ana"])).rows == []  # Ana has no partner


def test_conversion_under_a_team_filter(db, data):
    rows = run(db, "conversion", Filters(team="na")).rows
    assert [(r["source"], r["campaign"], r["leads"], r["won"], r["won_amount"]) for r in rows] == [
        ("hubspot", "fall", 2, 1, 500.0)]


def test_queue_ignores_people_filters_but_not_lead_filters(db, data):
    assert [r["id"] for r in run(db, "queue", Filters(source="web", start=date(2026, 1, 9))).rows] == [data["L12"]]


def test_url_arguments_round_trip():
    f = Filters.from_args({"from": "2026-01-06", "to": "2026-01-07", "source": " web ", "rep": "3", "team": ""})
    assert f == Filters(start=date(2026, 1, 6), end=date(2026, 1, 7), source="web", rep=3)
    assert f.as_args() == {"from": "2026-01-06", "to": "2026-01-07", "source": "web", "rep": "3"}


@pytest.mark.parametrize("args, field, words", [
    ({"from": "06/01/2026"}, "from", "YYYY-MM-DD"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "to", "before"),
    ({"rep": "ana"}, "rep", "whole number"),
    ({"campaign": "x" * 200}, "campaign", "longer than 128"),
])
def test_bad_filters_name_the_field_and_problem(args, field, words):
    with pytest.raises(InvalidFilter) as caught:
        Filters.from_args(args)
    (error,) = caught.value.errors
    assert error.field == field and words in error.problem
