"""The cadence as a pure table: once, every N (max M), until a level, per product; overdue and escalation."""
from datetime import UTC, datetime, timedelta

import pytest

from connector.flows import cadence
from tests.support.pursuit import feedback_spec

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
D = timedelta(days=1)


@pytest.mark.parametrize("spec, product, sent, level, due, reason", [
    # once, N days after acceptance
    (feedback_spec(first_after=3 * D, max_requests=1), None, 0, 0, T0 + 3 * D, "request 1, 3d after acceptance"),
    (feedback_spec(first_after=3 * D, max_requests=1), None, 1, 0, None, "all 1 requests of the cadence were sent"),
    # every N days, at most M times: anchored to acceptance, not to when the tick ran
    (feedback_spec(), None, 0, 0, T0 + 2 * D, "request 1, 2d after acceptance"),
    (feedback_spec(), None, 1, 0, T0 + 9 * D, "request 2 of 4, every 1w"),
    (feedback_spec(), None, 3, 1, T0 + 23 * D, "request 4 of 4, every 1w"),
    (feedback_spec(), None, 4, 2, None, "all 4 requests of the cadence were sent"),
    # until level L: a lower level keeps asking, the wanted level stops
    (feedback_spec(until_level=1), None, 1, 0, T0 + 9 * D, "request 2 of 4"),
    (feedback_spec(until_level=1), None, 1, 1, None, "level 1 (action taken) received; the flow asks until level 1"),
    (feedback_spec(until_level=2), None, 2, 1, T0 + 16 * D, "request 3 of 4"),
    (feedback_spec(until_level=2), None, 2, 2, None, "level 2 (pursuit status) received"),
    (feedback_spec(until_level=3), None, 2, 2, T0 + 16 * D, "request 3 of 4"),
    (feedback_spec(until_level=3), None, 2, 3, None, "level 3 (won/lost) received"),
    # per product / sales cycle: weeks then months (30d), case-insensitive; unknown products use the flow's
    (feedback_spec(), "solar", 0, 0, T0 + 7 * D, "request 1, 1w after acceptance"),
    (feedback_spec(), "Solar", 1, 0, T0 + 37 * D, "request 2 of 3, every 30d"),
    (feedback_spec(), "SOLAR", 3, 0, None, "all 3 requests"),
    (feedback_spec(), "boilers", 1, 0, T0 + 9 * D, "request 2 of 4, every 1w"),
])
def test_next_request_or_stop(spec, product, sent, level, due, reason):
    got = cadence.next_due(spec, product, T0, sent, level)
    assert got.at == due
    assert got.stop is (due is None)
    assert got.seq == sent + 1
    assert reason in got.reason


def test_cadence_reads_as_words():
    spec = feedback_spec()
    assert cadence.describe(cadence.cadence_for(spec, None), 3) == \
        "first 2d after acceptance, then every 1w, at most 4, until level 3 (won/lost)"
    once = feedback_spec(first_after=5 * D, max_requests=1)
    assert cadence.describe(cadence.cadence_for(once, "x"), 1) == "once, 5d after acceptance, until level 1 (action taken)"


@pytest.mark.parametrize("sent_days_ago, escalate_after, overdue, escalate", [
    ([8, 1], 2, 1, False),       # the newest is still within its week
    ([15, 8], 2, 2, True),       # two requests out for a full interval each
    ([6.9, 13.9], 2, 1, False),  # one interval is 7 days; 6.9 days is not yet overdue
    ([30, 20, 10], 0, 3, False),  # escalate_after 0 turns escalation off
    ([30], 1, 1, True),
])
def test_overdue_requests_escalate_after_the_configured_number(sent_days_ago, escalate_after, overdue, escalate):
    spec = feedback_spec(escalate_after=escalate_after)
    now = T0 + 60 * D
    window = cadence.answer_window(spec, "hvac")
    assert window == 7 * D
    count = cadence.overdue_count([now - d * D for d in sent_days_ago], window, now)
    assert count == overdue
    assert cadence.should_escalate(spec, count) is escalate


def test_answer_window_follows_the_product_cadence():
    assert cadence.answer_window(feedback_spec(), "solar") == 30 * D


def test_the_shipped_flows_yaml_cadence_per_product():
    from pathlib import Path

    from connector.flows import load_spec

    spec = load_spec(str(Path(__file__).resolve().parents[2] / "flows.yaml")).flow("qualified").feedback
    assert cadence.next_due(spec, "sentinel", T0, 1, 0).at == T0 + 3 * D + 14 * D   # the longer security cycle
    assert cadence.next_due(spec, "insight", T0, 1, 0).at == T0 + 2 * D + 7 * D
    assert cadence.next_due(spec, "sentinel", T0, 8, 0).stop
