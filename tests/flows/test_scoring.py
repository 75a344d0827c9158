"""Scoring arithmetic against a hand-worked example (docs/flows.md, "Worked example")."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.flows.helpers import NOW, spec


def _score(tmp_path, attributes: dict):
    return spec(tmp_path).scorer.score({"attributes": attributes}, NOW)


def test_worked_example(tmp_path):
    # demographic 40%: role (60 of 100) executive +10, size (40 of 100) 30 staff → -5
    # behavioural 60%: form (50 of 100) newsletter +2, events (50 of 100):
    #   webinar 10 days ago with a 10-day half-life: 6 × 0.5 = 3; email_opened ×5 counted 3 × 1 = 3 → +6
    # 40×0.6×1.0 = 24;  40×0.4×(-0.5) = -8;  60×0.5×0.2 = 6;  60×0.5×0.6 = 18  → 40 → MQL 1
    events = [{"type": "webinar_attended", "at": (NOW - timedelta(days=10)).isoformat()}] + \
             [{"type": "email_opened", "at": None}] * 5
    score, level, breakdown = _score(tmp_path, {"role": "executive", "employees": 30, "form": "newsletter",
                                                "events": events})
    assert (score, level) == (40, 1)
    assert {k: v["points"] for k, v in breakdown.items()} == {
        "demographic.role": 24.0, "demographic.size": -8.0, "behavioural.form": 6.0, "behavioural.events": 18.0}
    assert breakdown["behavioural.events"]["value"] == {"webinar_attended": 1, "email_opened": 3}


def test_perfect_lead_scores_100_and_mql_3(tmp_path):
    events = [{"type": "webinar_attended", "at": NOW.isoformat()}] * 2
    assert _score(tmp_path, {"role": "executive", "employees": 5000, "form": "demo_request", "events": events})[:2] == (100, 3)


def test_negative_scoring_is_clamped_at_zero(tmp_path):
    score, level, breakdown = _score(tmp_path, {"role": "student", "employees": 3})
    assert breakdown["demographic.role"]["points"] == -24.0
    assert (score, level) == (0, None)


def test_missing_attributes_score_their_default(tmp_path):
    score, level, breakdown = _score(tmp_path, {})
    assert score == 0 and all(v["points"] == 0 for v in breakdown.values())


@pytest.mark.parametrize("form,role,expected_level", [
    ("newsletter", None, None),         # 6: below MQL 1 (20)
    ("demo_request", None, 1),          # 30
    ("demo_request", "manager", 2),     # manager 40×0.6×0.5 = 12, 500 staff 40×0.4×0.5 = 8, demo 30 → 50
])
def test_thresholds_map_scores_to_mql_levels(tmp_path, form, role, expected_level):
    attrs = {"form": form, **({"role": role, "employees": 500} if role else {})}
    score, level, _ = _score(tmp_path, attrs)
    assert level == expected_level, score


def test_event_decay_halves_points_each_half_life(tmp_path):
    def events_points(days: int) -> float:
        ev = [{"type": "webinar_attended", "at": (NOW - timedelta(days=days)).isoformat()}]
        return _score(tmp_path, {"events": ev})[2]["behavioural.events"]["points"]
    assert events_points(0) == 18.0 and events_points(10) == 9.0 and events_points(20) == 4.5
