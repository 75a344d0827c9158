"""Pursuit answers: levels, partial vs complete per the seed's sections, and field-named validation."""
from datetime import UTC, date, datetime

import pytest
from marshmallow import ValidationError

from connector.flows.pursuit import make_answers, merged, validate_answers
from tests.support.pursuit import feedback_spec

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("form, level, complete, missing", [
    ({"contacted": "yes", "action": "call", "action_at": "2026-03-01"}, 1, True, ()),
    ({"contacted": "yes", "action": "visit"}, 1, False, ("action_at",)),
    ({"contacted": "no"}, 1, False, ("action", "action_at")),   # not contacted yet: no action taken
    ({"pursuit_status": "in_discussion"}, 2, True, ()),
    ({"contacted": "yes", "pursuit_status": "quote_sent"}, 2, True, ()),
    ({"outcome": "won", "amount": "12,500.50", "close_date": "2026-02-27"}, 3, True, ()),
    ({"outcome": "won", "amount": "9000"}, 3, False, ("close_date",)),   # section 3 partial
    ({"outcome": "won"}, 3, False, ("amount", "close_date")),
    ({"outcome": "lost", "lost_reason": "price", "close_date": "2026-02-27"}, 3, True, ()),
    ({"outcome": "lost", "close_date": "2026-02-27"}, 3, False, ("lost_reason",)),
])
def test_level_and_completeness(form, level, complete, missing):
    answers = validate_answers(feedback_spec(), form, NOW)
    assert (answers.level, answers.complete, answers.missing) == (level, complete, missing)
    assert answers.reached == (level if complete else level - 1)


def test_amounts_and_dates_are_parsed():
    answers = validate_answers(feedback_spec(), {"outcome": "won", "amount": " $12,500.50 ", "close_date": "2026-02-27"}, NOW)
    assert answers.amount == 12500.5 and answers.close_date == date(2026, 2, 27)


@pytest.mark.parametrize("form, field, problem", [
    ({}, "form", "answer at least one section"),
    ({"contacted": "", "action": "", "outcome": " "}, "form", "answer at least one section"),
    ({"contacted": "maybe"}, "contacted", "Not a valid boolean."),
    ({"contacted": "yes", "action": "fax"}, "action", "must be one of: call, email, visit"),
    ({"contacted": "yes", "action": "call", "action_at": "yesterday"}, "action_at", "must be a date like 2026-01-31"),
    ({"contacted": "yes", "action": "call", "action_at": "2026-04-01"}, "action_at", "cannot be in the future"),
    ({"contacted": "no", "action": "call"}, "action", "leave how and when empty when the lead was not contacted"),
    ({"action": "call"}, "contacted", "say whether the lead was contacted"),
    ({"pursuit_status": "golfing"}, "pursuit_status", "must be one of: attempting_contact, in_discussion"),
    ({"outcome": "maybe"}, "outcome", "must be won or lost"),
    ({"outcome": "won", "amount": "lots"}, "amount", "must be a number like 12500"),
    ({"outcome": "won", "amount": "-5"}, "amount", "must be zero or more"),
    ({"outcome": "lost", "amount": "5"}, "amount", "only for a won lead"),
    ({"outcome": "lost", "lost_reason": "weather"}, "lost_reason", "must be one of: price, competitor"),
    ({"outcome": "won", "lost_reason": "price"}, "lost_reason", "only for a lost lead"),
])
def test_bad_input_names_the_field_and_the_problem(form, field, problem):
    with pytest.raises(ValidationError) as exc:
        validate_answers(feedback_spec(), form, NOW)
    assert problem in " ".join(exc.value.messages[field])


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as exc:
        validate_answers(feedback_spec(), {"contacted": "yes", "action": "fax", "pursuit_status": "x",
                                           "outcome": "won", "amount": "-1"}, NOW)
    assert set(exc.value.messages) == {"action", "pursuit_status", "amount"}


def test_what_is_known_merges_later_answers_over_earlier_ones():
    known = merged([make_answers(contacted=True, action="call", action_at=date(2026, 2, 1)),
                    make_answers(pursuit_status="in_discussion"),
                    make_answers(outcome="lost", lost_reason="price"),
                    make_answers(outcome="won", amount=100.0)])
    assert known.as_dict() == {"contacted": True, "action": "call", "action_at": "2026-02-01",
                               "pursuit_status": "in_discussion", "outcome": "won", "amount": 100.0}
