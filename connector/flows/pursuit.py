"""Pursuit answers (pure): validate a rep's feedback, tell its level and whether it is complete.

Levels follow the seed's sections: 1 action taken (contacted? how, when), 2 pursuit status,
3 won/lost. A response's `level` is the highest section it touches; it is `complete` when every
option of that section is filled (won: amount and close date; lost: reason and close date;
contacted: how and when), otherwise partial, and `missing` names what is left.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from connector.flows.model import FeedbackSpec

ACTIONS = ("call", "email", "visit")
OUTCOMES = ("won", "lost")
ANSWER_FIELDS = ("contacted", "action", "action_at", "pursuit_status", "outcome", "amount", "close_date",
                 "lost_reason")


@dataclass(frozen=True)
class Answers:
    """What a rep said; None means 'not answered'."""

    contacted: bool | None = None
    action: str | None = None
    action_at: date | None = None
    pursuit_status: str | None = None
    outcome: str | None = None
    amount: float | None = None
    close_date: date | None = None
    lost_reason: str | None = None
    missing: tuple[str, ...] = field(default=(), compare=False)

    @property
    def level(self) -> int:
        """The highest section answered (0 when nothing was)."""
        if self.outcome:
            return 3
        if self.pursuit_status:
            return 2
        return 1 if self.contacted is not None else 0

    @property
    def complete(self) -> bool:
        return self.level > 0 and not self.missing

    @property
    def reached(self) -> int:
        """The highest level received completely: `level`, or one below it when that section is partial."""
        return self.level if self.complete else max(self.level - 1, 0)

    def as_dict(self) -> dict[str, Any]:
        """The answers given, JSON-friendly (dates as ISO strings), without the unanswered ones."""
        out = {k: v for k, v in asdict(self).items() if k in ANSWER_FIELDS and v is not None}
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in out.items()}


def missing_for(answers: Answers) -> tuple[str, ...]:
    """The options of the answer's top section that are still empty."""
    level = answers.level
    need: tuple[str, ...]
    if level == 3:
        need = ("amount", "close_date") if answers.outcome == "won" else ("lost_reason", "close_date")
    elif level == 1:  # "not contacted yet" is an answer, but no action was taken: partial
        need = ("action", "action_at")
    else:
        need = ()
    return tuple(name for name in need if getattr(answers, name) is None)


def make_answers(**values: Any) -> Answers:
    """Answers with `missing` worked out (values not given are None)."""
    given: dict[str, Any] = {k: values.get(k) for k in ANSWER_FIELDS}
    answers = Answers(**given)
    return Answers(**{k: getattr(answers, k) for k in ANSWER_FIELDS}, missing=missing_for(answers))


class _FeedbackSchema(Schema):
    contacted = fields.Boolean(allow_none=True, truthy={"yes", "true", "1", "on"},
                               falsy={"no", "false", "0"})
    action = fields.String(allow_none=True,
                           validate=validate.OneOf(ACTIONS, error="must be one of: call, email, visit"))
    action_at = fields.Date(allow_none=True, error_messages={"invalid": "must be a date like 2026-01-31"})
    pursuit_status = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True, validate=validate.OneOf(OUTCOMES, error="must be won or lost"))
    amount = fields.Float(allow_none=True, allow_nan=False,
                          validate=validate.Range(min=0, error="must be zero or more"),
                          error_messages={"invalid": "must be a number like 12500 or 12500.50"})
    close_date = fields.Date(allow_none=True, error_messages={"invalid": "must be a date like 2026-01-31"})
    lost_reason = fields.String(allow_none=True)

    @pre_load
    def _blank_is_none(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        out = {}
        for key, value in dict(data).items():
            if isinstance(value, str):
                value = value.strip()
                if key == "amount":
                    value = value.replace(",", "").replace(" ", "").lstrip("$€£")
            out[key] = None if value == "" else value
        return out

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        spec: FeedbackSpec = self.context["spec"]
        today: date = self.context["today"]
        errors: dict[str, list[str]] = {}
        if not any(data.get(k) is not None for k in ANSWER_FIELDS):
            errors["form"] = ["answer at least one section"]
        if data.get("pursuit_status") is not None and data["pursuit_status"] not in spec.statuses:
            errors["pursuit_status"] = [f"must be one of: {', '.join(spec.statuses)}"]
        if data.get("lost_reason") is not None and data["lost_reason"] not in spec.lost_reasons:
            errors["lost_reason"] = [f"must be one of: {', '.join(spec.lost_reasons)}"]
        if data.get("contacted") is False and (data.get("action") or data.get("action_at")):
            errors["action"] = ["leave how and when empty when the lead was not contacted"]
        if data.get("contacted") is None and (data.get("action") or data.get("action_at")):
            errors["contacted"] = ["say whether the lead was contacted when you give how or when"]
        if data.get("amount") is not None and data.get("outcome") != "won":
            errors["amount"] = ["only for a won lead: choose won, or leave the amount empty"]
        if data.get("lost_reason") is not None and data.get("outcome") != "lost":
            errors["lost_reason"] = ["only for a lost lead: choose lost, or leave the reason empty"]
        for name in ("action_at", "close_date"):
            if data.get(name) is not None and data[name] > today + timedelta(days=1):
                errors[name] = ["cannot be in the future"]
        if errors:
            raise ValidationError(errors)


def validate_answers(spec: FeedbackSpec, form: Mapping[str, Any], now: datetime) -> Answers:
    """Answers from a submitted form (strings); raise marshmallow ValidationError {field: [problem]}.

    Blank fields mean 'not answered'. Unknown form fields are ignored.
    """
    data = {k: form.get(k) for k in ANSWER_FIELDS if k in form}
    schema = _FeedbackSchema()
    schema.context = {"spec": spec, "today": now.date()}
    return make_answers(**schema.load(data))


def merged(history: list[Answers]) -> Answers:
    """What is known so far: later answers override earlier ones field by field (to prefill a form)."""
    values: dict[str, Any] = {}
    for answers in history:
        values.update({k: getattr(answers, k) for k in ANSWER_FIELDS if getattr(answers, k) is not None})
    outcome: str | None = values.get("outcome")
    drop = {"won": "lost_reason", "lost": "amount"}.get(outcome) if outcome else None
    if drop:
        values.pop(drop, None)
    return make_answers(**values)
