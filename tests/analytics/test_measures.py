"""Each measure against the seeded data set (tests/analytics/seed.py), figures worked out by hand."""
from __future__ import annotations

from datetime import date

import pytest

from connector.analytics import Filters, run
from connector.store.models import Lead
from connector.store.statuses import LeadStatus
from tests.analytics.seed import seed

MIN = 60.0
DAY = 86400.0


@pytest.fixture
def data(db):
    return seed(db)


def rows(db, name, **filters):
    return run(db, name, Filters(**filters)).rows


def by(table_rows, key):
    return {r[key]: r for r in table_rows}


def test_leads_captured_per_day(db, data):
    table = run(db, "captured")
    assert [(r["day"], r["leads"]) for r in table.rows] == [
        ("2026-01-05", 2), ("2026-01-06", 2), ("2026-01-07", 3), ("2026-01-08", 3), ("2026-01-09", 2)]
    assert table.summary["leads"] == 2 + 2 + 3 + 3 + 2


def test_rejected_by_reason(db, data):
    table = run(db, "rejected")
    # L7 and L8 spam, L9 no email; 12 leads captured
    assert [(r["reason"], r["leads"], r["share"]) for r in table.rows] == [
        ("spam", 2, round(2 / 12, 4)), ("no email", 1, round(1 / 12, 4))]
    assert table.summary == {"captured": 12, "rejected": 3, "rejected_rate": 3 / 12}


def test_duplicates_by_source(db, data):
    table = run(db, "duplicates")
    web = by(table.rows, "source")["web"]
    # web: L1 L2 L3 L4 L8 L9 L10 L12 = 8 stored, L10 linked to L1, and one repeat merged into L1 (Jan 8)
    # rate = (1 linked + 1 merged) / (8 stored + 1 merged)
    assert (web["leads"], web["linked"], web["merged"], web["duplicate_rate"]) == (8, 1, 1, round(2 / 9, 4))
    assert by(table.rows, "source")["hubspot"]["duplicate_rate"] == 0
    assert table.summary == {"leads": 12, "duplicates": 2, "duplicate_rate": round(2 / 13, 4)}


def test_merged_duplicates_are_dated_by_arrival(db, data):
    # the repeat arrived Jan 8; L1 itself was captured Jan 5
    jan8 = by(rows(db, "duplicates", start=date(2026, 1, 8), end=date(2026, 1, 8)), "source")["web"]
    assert (jan8["leads"], jan8["linked"], jan8["merged"]) == (3, 1, 1)  # L8 L9 L10 stored
    jan5 = by(rows(db, "duplicates", start=date(2026, 1, 5), end=date(2026, 1, 5)), "source")["web"]
    assert (jan5["leads"], jan5["merged"]) == (2, 0)


def test_mql_level_mix(db, data):
    # level 1: L4 L6 L11 · 2: L2 L3 L12 · 3: L1 L5 L10 · unscored: L7 L8 L9
    assert [(r["level"], r["leads"], r["share"]) for r in rows(db, "mql_levels")] == [
        ("1", 3, 0.25), ("2", 3, 0.25), ("3", 3, 0.25), ("-", 3, 0.25)]


def test_speed_to_lead_median_and_p90(db, data):
    stages = by(rows(db, "speed_to_lead"), "stage")
    # capture → offer (min): L1 2, L2 4, L3 6, L4 8, L5 10, L6 20 -> n=6
    # median: pos 0.5*5=2.5 -> (6+8)/2 = 7 min; p90: pos 0.9*5=4.5 -> 10 + 0.5*(20-10) = 15 min
    first = stages["capture → offer"]
    assert first["leads"] == 6
    assert first["median_seconds"] == pytest.approx(7 * MIN, abs=0.5)
    assert first["p90_seconds"] == pytest.approx(15 * MIN, abs=0.5)
    # offer → accept (min): L1 10, L2 30, L3 20, L5 60 -> sorted 10 20 30 60
    # median: pos 1.5 -> 25 min; p90: pos 2.7 -> 30 + 0.7*30 = 51 min
    accept = stages["offer → accept"]
    assert accept["leads"] == 4
    assert accept["median_seconds"] == pytest.approx(25 * MIN, abs=0.5)
    assert accept["p90_seconds"] == pytest.approx(51 * MIN, abs=0.5)


def test_offer_acceptance_decline_expiry_rates(db, data):
    table = run(db, "offer_rates")
    counts = {r["status"]: r["offers"] for r in table.rows}
    # o2 o3 o5 o8 accepted; o1 declined; o4 o6 o7 expired; o9 lost; o10 pending
    assert counts == {"accepted": 4, "declined": 1, "expired": 3, "lost": 1, "withdrawn": 0, "pending": 1}
    # settled = 10 offers - 1 pending = 9
    assert table.summary == {"offers": 10, "settled": 9, "acceptance_rate": round(4 / 9, 4),
                             "decline_rate": round(1 / 9, 4), "expiry_rate": round(3 / 9, 4)}


def test_escalations_and_missed_leads(db, data):
    table = run(db, "missed")
    counts = {r["stage"]: r["leads"] for r in table.rows}
    # routed: L1-L6, L12 = 7; offered L1-L6 = 6; accepted L1 L2 L3 L5 = 4; waiting L6; escalated L4;
    # never accepted: L4 (escalated) and L12 (no offer) = 2; decided = 7 - 1 waiting = 6
    assert counts == {"routed": 7, "offered": 6, "accepted": 4, "still waiting": 1, "escalated": 1,
                      "never accepted": 2}
    assert table.summary == {"routed": 7, "escalated": 1, "never_accepted": 2, "missed_rate": round(2 / 6, 4)}


def test_a_lead_held_for_working_hours_is_still_waiting_not_missed(db, data):
    with db.session() as s:
        s.get(Lead, data["L12"]).status = LeadStatus.HELD  # routed at night: offered when a rep's day starts
    table = run(db, "missed")
    counts = {r["stage"]: r["leads"] for r in table.rows}
    assert (counts["still waiting"], counts["never accepted"]) == (2, 1)  # L6 offered, L12 held; L4 escalated
    assert table.summary["missed_rate"] == round(1 / 5, 4)


def test_feedback_compliance_per_level(db, data):
    table = run(db, "feedback_compliance")
    # asked (accepted, a request sent): L1 L2 L3 L5 = 4; highest level: L1 3, L2 2, L5 1, L3 none
    assert [(r["asked"], r["reported"], r["rate"]) for r in table.rows] == [(4, 3, 0.75), (4, 2, 0.5), (4, 1, 0.25)]
    # requests: 4 sent (one more only scheduled), 3 answered
    assert table.summary == {"requests_sent": 4, "requests_answered": 3, "answer_rate": 0.75}


def test_pursuit_funnel(db, data):
    # accepted L1 L2 L3 L5; contacted L1 L2 L5; in discussion L1 (level 3) L2 (level 2) L5 (won);
    # won L1 L5; lost L2
    assert [(r["stage"], r["leads"], r["rate"]) for r in rows(db, "funnel")] == [
        ("accepted", 4, 1.0), ("contacted", 3, 0.75), ("in discussion", 3, 0.75), ("won", 2, 0.5), ("lost", 1, 0.25)]


def test_conversion_and_won_amount_by_source_and_campaign(db, data):
    table = run(db, "conversion")
    got = [(r["source"], r["campaign"], r["leads"], r["accepted"], r["won"], r["conversion_rate"], r["won_amount"])
           for r in table.rows]
    assert got == [
        ("web", "spring", 7, 3, 1, round(1 / 7, 4), 1000.0),      # L1 L2 L3 L8 L9 L10 L12; L1 won 1000
        ("hubspot", "fall", 3, 1, 1, round(1 / 3, 4), 500.0),     # L5 L6 L7; L5 won 500
        ("csv", "(none)", 1, 0, 0, 0.0, 0.0),                    # L11
        ("web", "(none)", 1, 0, 0, 0.0, 0.0),                    # L4
    ]
    assert table.summary == {"leads": 12, "won": 2, "conversion_rate": round(2 / 12, 4), "won_amount": 1500.0}


def test_time_to_close(db, data):
    stages = by(rows(db, "time_to_close"), "stage")
    # won: L1 10 d, L5 30 d -> median 20 d, p90 10 + 0.9*20 = 28 d; lost: L2 20 d
    assert (stages["won"]["leads"], stages["won"]["median_seconds"], stages["won"]["p90_seconds"]) == \
        (2, pytest.approx(20 * DAY, abs=1), pytest.approx(28 * DAY, abs=1))
    assert stages["lost"]["median_seconds"] == pytest.approx(20 * DAY, abs=1)
    # all closed: 10 20 30 d -> median 20 d; p90 pos 1.8 -> 20 + 0.8*10 = 28 d
    assert stages["all closed"]["leads"] == 3
    assert stages["all closed"]["p90_seconds"] == pytest.approx(28 * DAY, abs=1)


def test_rep_leaderboard(db, data):
    table = rows(db, "reps")
    assert [r["name"] for r in table] == ["Ana Alder", "Cy Cedar", "Ben Birch"]  # by won amount 1000, 500, 0
    ana, cy, ben = table
    # Ana: offers o2 o3 o4 o6, accepted o2 o3; answered in 7 and 30 min -> avg 18.5 min; owns L1 (won 1000) L2
    assert (ana["offers"], ana["accepted"], ana["acceptance_rate"], ana["leads"], ana["won"], ana["won_amount"]) == \
        (4, 2, 0.5, 2, 1, 1000.0)
    assert ana["avg_response_seconds"] == pytest.approx(18.5 * MIN, abs=0.5)
    # Ben: o1 o5 o7 o9, accepted o5; answered in 3 and 10 min -> 6.5 min; owns L3
    assert (ben["offers"], ben["accepted"], ben["leads"], ben["won"]) == (4, 1, 1, 0)
    assert ben["avg_response_seconds"] == pytest.approx(6.5 * MIN, abs=0.5)
    # Cy: o8 o10, accepted o8 in 60 min; owns L5 won 500
    assert (cy["offers"], cy["accepted"], cy["conversion_rate"], cy["won_amount"]) == (2, 1, 1.0, 500.0)


def test_partner_leaderboard(db, data):
    (acme,) = rows(db, "partners")
    # Acme = Ben + Cy: offers 4 + 2 = 6, accepted 1 + 1 = 2; answered 3, 10, 60 min -> avg 73/3 min
    assert (acme["name"], acme["reps"], acme["offers"], acme["accepted"], acme["acceptance_rate"]) == \
        ("Acme Partners", 2, 6, 2, round(2 / 6, 4))
    assert acme["avg_response_seconds"] == pytest.approx(73 / 3 * MIN, abs=0.5)
    # leads owned L3 (Ben) L5 (Cy, won 500)
    assert (acme["leads"], acme["won"], acme["conversion_rate"], acme["won_amount"]) == (2, 1, 0.5, 500.0)


def test_unassigned_and_escalated_queue(db, data):
    # L4 escalated; L12 routed, no owner, no offer; L6 excluded (an offer is still open)
    assert [r["id"] for r in rows(db, "queue")] == [data["L4"], data["L12"]]
